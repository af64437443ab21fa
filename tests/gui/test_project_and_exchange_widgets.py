"""The Project table (filter, sort, open) and the Import / export widget."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt

from napari_specimask._launch import dock_widgets
from napari_specimask._widgets._session import session_for

pytestmark = pytest.mark.gui


def test_project_table_filters_sorts_and_opens_on_double_click(make_napari_viewer, qtbot,
                                                               demo, idle):
    viewer = make_napari_viewer()
    w = dock_widgets(viewer)
    project_w = w["Project"]
    project_w.open_project(demo)
    rows = project_w.model.rowCount
    project_w.filter.setText("plankton")  # filtered once typing pauses
    qtbot.waitUntil(lambda: rows() == 6, timeout=5000)
    project_w.filter.setText("val")
    qtbot.waitUntil(lambda: rows() == 2, timeout=5000)
    project_w.filter.setText("")
    qtbot.waitUntil(lambda: rows() == len(session_for(viewer).project.images()), timeout=5000)
    with qtbot.waitSignal(project_w.model.loaded, timeout=5000):  # ordered in a thread
        project_w.table.sortByColumn(1, Qt.SortOrder.DescendingOrder)
    top = project_w.model.index(0, 1).data()
    assert top == max(r.relpath for r in session_for(viewer).project.images())
    index = project_w.model.index(0, 0)
    with qtbot.waitSignal(session_for(viewer).show_requested, timeout=5000):
        project_w.table.doubleClicked.emit(index)
    idle(w["Annotate"])
    assert w["Annotate"].image_id == int(index.data())



def test_import_and_export_from_the_widget(docked, qtbot, demo, tmp_path):
    import json

    from napari_specimask.core.exchange.brush_rle import mask_to_rle
    from napari_specimask.core.io.images import read_mask, write_mask_png

    viewer, w, session = docked(demo)
    ex = w["Import / export"]
    pool = session.project.images(role="pool")

    # another model's masks, imported as verified masks
    for rec in pool[:2]:
        write_mask_png(tmp_path / "other_model" / f"{rec.name}.png",
                       read_mask(demo / "truth" / f"{rec.name}.png"))
    ex.import_as.setCurrentIndex(0)
    ex.import_folder(tmp_path / "other_model")
    qtbot.waitUntil(lambda: ex.worker is None, timeout=30_000)
    assert len(ex.report.imported) == 2 and "imported 2 mask(s)" in ex.state.text()
    assert session.project.load_mask(pool[0].id) is not None
    qtbot.waitUntil(lambda: "6 labelled" in w["Project"].title.text())  # 4 val/test + 2

    # a Label Studio export, as a proposal to correct
    rec = pool[2]
    mask = np.zeros((rec.height, rec.width), bool)
    mask[5:20, 5:25] = True
    task = {"data": {"image": f"/data/upload/3/deadbeef-{rec.name}.png"},
            "annotations": [{"result": [{"type": "brushlabels", "original_width": rec.width,
                                         "original_height": rec.height,
                                         "value": {"format": "rle", "rle": mask_to_rle(mask),
                                                   "brushlabels": ["Specimen"]}}]}]}
    (tmp_path / "ls.json").write_text(json.dumps([task]))
    ex.import_as.setCurrentIndex(1)
    ex.import_labelstudio(tmp_path / "ls.json")
    qtbot.waitUntil(lambda: ex.worker is None, timeout=30_000)
    assert np.array_equal(session.project.load_mask(rec.id, "coldstart"), mask)

    # exports: white cut-outs cropped, and a COCO file
    ex.format.setCurrentText("cutout")
    assert ex.background.isEnabled()
    ex.background.setCurrentText("white")
    ex.crop.setChecked(True)
    ex.export_to(tmp_path / "cutouts")
    qtbot.waitUntil(lambda: ex.worker is None, timeout=30_000)
    assert len(list((tmp_path / "cutouts").glob("*.png"))) == 6  # every verified mask
    from PIL import Image

    cut = np.asarray(Image.open(tmp_path / "cutouts" / f"{pool[0].name}.png"))
    assert cut.shape[2] == 3 and (cut[0, 0] == 255).all()  # on white
    assert cut.shape[:2] < (pool[0].height, pool[0].width)  # cropped to the specimen
    ex.format.setCurrentText("coco")
    assert not ex.background.isEnabled()
    ex.export_to(tmp_path / "masks.json")
    qtbot.waitUntil(lambda: ex.worker is None, timeout=30_000)
    assert len(json.loads((tmp_path / "masks.json").read_text())["annotations"]) == 6
    assert "wrote 1 file(s)" in ex.state.text()

