"""What the npe2 manifest contributes: the seven widgets, the project reader, the mask writer."""

from __future__ import annotations

import napari
import numpy as np
import pytest

from napari_specimask._launch import WIDGETS
from napari_specimask._widgets._session import session_for

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("name", WIDGETS)
def test_each_widget_loads_through_the_manifest(make_napari_viewer, name):
    viewer = make_napari_viewer()
    _dock, widget = viewer.window.add_plugin_dock_widget("napari-specimask", name)
    assert type(widget).__name__.endswith("Widget")



def test_reader_opens_a_dropped_project_folder(make_napari_viewer, qtbot, demo):
    """The reader opens the project in the session and docks nothing; widgets opened
    afterwards (Plugins > specimask) show it."""
    viewer = make_napari_viewer()
    viewer.open(str(demo), plugin="napari-specimask")
    session = session_for(viewer)
    assert session.project is not None and session.project.root == demo.resolve()
    assert not viewer.window.dock_widgets and not viewer.layers
    _dock, project_w = viewer.window.add_plugin_dock_widget("napari-specimask", "Project")
    qtbot.waitUntil(lambda: project_w.model.rowCount() == 12, timeout=5000)



def test_reader_claims_only_project_folders_and_their_settings_file(
        make_napari_viewer, demo, tmp_path):
    from napari_specimask._reader import get_project_reader

    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "a.png").write_bytes(b"")
    for other in (tmp_path / "plain", tmp_path / "plain" / "a.png"):
        assert get_project_reader(str(other)) is None
    assert get_project_reader([str(demo)]) is None  # a stack of paths is not a project
    viewer = make_napari_viewer()
    viewer.open(str(demo / "specimask.toml"), plugin="napari-specimask")
    assert session_for(viewer).project.root == demo.resolve()



def test_writer_saves_labels_as_png_mask(make_napari_viewer, tmp_path):
    from napari_specimask.core.io.images import read_mask

    viewer = make_napari_viewer()
    data = np.zeros((20, 30), np.uint8)
    data[5:10, 5:25] = 3
    layer = viewer.add_labels(data)
    napari.save_layers(str(tmp_path / "m.png"), [layer], plugin="napari-specimask")
    assert np.array_equal(read_mask(tmp_path / "m.png"), data > 0)

