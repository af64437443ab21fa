"""npe2 reader: dropping a project folder (or its specimask.toml) on napari opens it.

The project opens in the viewer's session, so the specimask widgets show it: those
docked already, and those opened later from Plugins > specimask. The reader docks
nothing and makes no layer (the Annotate widget shows the images).
"""

from __future__ import annotations

from pathlib import Path

from napari_specimask.core.settings import SETTINGS_FILE


def project_root(path) -> Path | None:
    """The project a dropped path stands for: a folder with specimask.toml, or that file."""
    if isinstance(path, list):
        return None
    root = Path(path)
    if root.name == SETTINGS_FILE:
        root = root.parent
    return root if (root / SETTINGS_FILE).is_file() else None


def get_project_reader(path):
    return read_project if project_root(path) is not None else None


def read_project(path):
    """Open the project in the current viewer's session."""
    import napari
    from napari.utils.notifications import show_info

    from napari_specimask._widgets._session import session_for

    project = session_for(napari.current_viewer()).open(project_root(path))
    if project is None:  # the person chose to stay with the open project's edits
        show_info("specimask: the open project stays open")
    else:
        show_info(f"specimask project {project.root.name} is open: its widgets are under "
                  "Plugins > specimask")
    return [(None,)]
