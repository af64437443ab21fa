"""npe2 reader: dropping a project folder on napari opens it in the specimask widgets."""

from __future__ import annotations

from pathlib import Path

from napari_specimask.core.settings import SETTINGS_FILE


def get_project_reader(path):
    if isinstance(path, list) or not (Path(path) / SETTINGS_FILE).is_file():
        return None
    return read_project


def read_project(path):
    """Open the project in the current viewer's session and dock the widgets."""
    import napari

    from napari_specimask._launch import dock_widgets
    from napari_specimask._widgets._session import session_for

    viewer = napari.current_viewer()
    dock_widgets(viewer)
    session_for(viewer).open(path)
    return [(None,)]  # the Annotate widget shows the images; no layer from the reader
