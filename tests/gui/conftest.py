"""GUI test plumbing shared by the widget tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _workers_end_before_the_folder_goes(tmp_path):
    """Background jobs a test leaves running (a prediction refresh after training) are
    stopped and awaited after the viewer closes and before pytest removes the test's
    folder (passing tests' folders are deleted: see tmp_path_retention_policy)."""
    yield
    from napari.qt.threading import WorkerBase

    WorkerBase.await_workers(msecs=60_000)


@pytest.fixture
def demo(tmp_path):
    """A small demo project (6 herbarium + 6 plankton images per role), closed."""
    from napari_specimask.core.collections.demo_project import create_demo_project
    from napari_specimask.core.progress import run

    project = run(create_demo_project(tmp_path / "demo", n_herbarium=6, n_plankton=6))
    project.close()
    return tmp_path / "demo"


@pytest.fixture
def docked(make_napari_viewer):
    """``docked(root)``: a napari window with the seven widgets docked and ``root`` opened
    in the Project widget, as a person starts; gives (viewer, widgets by name, session)."""
    from napari_specimask._launch import dock_widgets
    from napari_specimask._widgets._session import session_for

    def open_window(root):
        viewer = make_napari_viewer()
        widgets = dock_widgets(viewer)
        widgets["Project"].open_project(root)
        return viewer, widgets, session_for(viewer)

    return open_window
