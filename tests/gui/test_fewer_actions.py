"""Fewer actions per good mask: one key saves and moves on, the person's tool stays with
them from image to image, the batch shows how much is done, and the Project filter is
exact (old code: Save stayed put, brush 12 -> 5 and the tool back to paint on every image,
"labeled" also matched "unlabeled")."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt

pytestmark = pytest.mark.gui

ALT = Qt.KeyboardModifier.AltModifier


def test_one_key_saves_and_moves_on_and_the_strip_counts(queue_batch, docked, qtbot, demo,
                                                         idle):
    viewer, w, session = docked(demo)
    queued = queue_batch(session)
    annotate = w["Annotate"]
    canvas = viewer.window._qt_viewer.canvas.native
    labels = viewer.layers["mask"]
    labels.paint((20, 20), 1 - int(labels.data[20, 20]))
    qtbot.keyClick(canvas, Qt.Key.Key_N, ALT)  # Alt-N: save and next, as a person
    idle(annotate)
    first = session.project.annotations(queued[0])[-1]
    assert first["origin"] == "corrected" and annotate.image_id == queued[1]
    assert first["pixels_added"] + first["pixels_removed"] > 0
    assert not annotate.done_bar.isHidden() and annotate.done_bar.value() == 1
    assert annotate.done_bar.text() == "1 / 3 of the batch saved"
    qtbot.keyClick(canvas, Qt.Key.Key_N, ALT)  # unedited: saved as accepted, on we go
    idle(annotate)
    assert session.project.annotations(queued[1])[-1]["origin"] == "accepted"
    assert annotate.image_id == queued[2] and annotate.done_bar.value() == 2
    assert "Alt-N save and next" in annotate.keys.text()
    assert "Alt-U toggle uncertainty" in annotate.keys.text()


def test_the_persons_tool_brush_opacity_and_contour_stay_across_images(queue_batch, docked,
                                                                       qtbot, demo, idle):
    viewer, w, session = docked(demo)
    queue_batch(session)
    annotate = w["Annotate"]
    labels = viewer.layers["mask"]
    labels.mode = "erase"
    labels.brush_size = 12
    labels.opacity = 0.8
    labels.contour = 2
    qtbot.mouseClick(annotate.buttons["next"], Qt.MouseButton.LeftButton)
    idle(annotate)
    qtbot.mouseClick(annotate.buttons["next"], Qt.MouseButton.LeftButton)
    idle(annotate)
    labels = viewer.layers["mask"]
    assert (labels.mode, labels.brush_size, labels.opacity, labels.contour) == (
        "erase", 12, 0.8, 2)


def test_the_project_filter_matches_whole_words(docked, qtbot, demo):
    viewer, w, session = docked(demo)
    project = session.project
    first = project.images(role="pool")[0]
    from napari_specimask.core.io.images import read_mask

    project.save_mask(first.id, read_mask(demo / "truth" / f"{first.name}.png"), "hand")
    session.images_changed.emit()
    table = w["Project"]
    model = table.model

    def type_filter(text):  # and wait for the pause in typing that runs it
        table.filter.clear()
        qtbot.keyClicks(table.filter, text)
        qtbot.waitUntil(lambda: model.query.words == tuple(text.split())
                        and not model.loading, timeout=5000)

    type_filter("labeled")
    assert model.rowCount() == 1 + len(project.images(role="val")) + len(
        project.images(role="test"))  # val and test come with masks; no "unlabeled"
    type_filter("unlabeled")
    assert model.rowCount() == len(project.images(status="unlabeled"))
    type_filter("pool herbarium_00")  # words narrow; a name by its part
    names = {model.index(r, 1).data() for r in range(model.rowCount())}
    assert names and all("pool/herbarium_00" in n for n in names)
    assert np.all([model.index(r, 2).data() == "pool" for r in range(model.rowCount())])


def _blobs(viewer):
    labels = viewer.layers["mask"]
    data = np.zeros_like(labels.data)
    data[5:20, 5:20] = 1            # a label box the proposal took in
    data[30:60, 30:60] = 1          # the plant, with a hole
    data[40:45, 40:45] = 0
    labels.data = data
    return labels, data.copy()


def test_remove_a_blob_with_one_key_at_the_cursor_and_undo_it(queue_batch, docked, qtbot,
                                                              demo):
    viewer, w, session = docked(demo)
    queue_batch(session)
    labels, before = _blobs(viewer)
    canvas = viewer.window._qt_viewer.canvas.native
    viewer.cursor.position = (10.0, 10.0)
    qtbot.keyClick(canvas, Qt.Key.Key_X, ALT)  # Alt-X: remove the blob under the cursor
    assert not labels.data[5:20, 5:20].any()
    assert np.array_equal(labels.data[30:, 30:], before[30:, 30:])
    assert "remove blob: 225 pixel(s) changed" in w["Annotate"].tool_note.text()
    assert "showing its" in w["Annotate"].status.text()  # what is shown stays said
    labels.undo()  # one undo takes the whole click back
    assert np.array_equal(labels.data, before)
    viewer.cursor.position = (35.0, 35.0)
    qtbot.keyClick(canvas, Qt.Key.Key_H, ALT)  # Alt-H: fill that object's holes
    assert labels.data[40:45, 40:45].all() and labels.data[5:20, 5:20].all()


def test_a_chosen_click_tool_acts_on_a_click_and_gives_the_brush_back(queue_batch, docked,
                                                                     qtbot, demo):
    from types import SimpleNamespace

    from napari.utils.interactions import mouse_press_callbacks

    viewer, w, session = docked(demo)
    queue_batch(session)
    labels, before = _blobs(viewer)
    labels.mode = "erase"
    chooser = w["Annotate"].tools.chooser
    chooser.setCurrentText("remove blob")
    assert labels.mode == "pan_zoom"  # the click must not paint as well
    # a press on the canvas, as napari hands it to the layer's mouse callbacks
    mouse_press_callbacks(labels, SimpleNamespace(type="mouse_press", position=(12.0, 12.0),
                                                  modifiers=(), handled=False))
    assert not labels.data[5:20, 5:20].any() and labels.data[30:60, 30:40].any()
    chooser.setCurrentText("off (paint)")
    assert labels.mode == "erase"  # the person's tool, as it was


def test_grow_a_faint_leaf_from_the_probability_map(queue_batch, docked, qtbot, demo):
    viewer, w, session = docked(demo)
    queue_batch(session)
    labels = viewer.layers["mask"]
    labels.data = np.zeros_like(labels.data)
    prob = np.full(labels.data.shape, 0.02, np.float32)
    prob[10:30, 10:30] = 0.3   # the model saw this leaf faintly: below 0.5, not in the mask
    viewer.add_image(prob, name="probability")
    viewer.cursor.position = (20.0, 20.0)
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key.Key_G, ALT)
    assert labels.data[10:30, 10:30].all() and labels.data.sum() == 400


def test_the_count_of_saves_is_never_taken_back_by_an_image_read_ahead(
        queue_batch, docked, qtbot, idle, demo):
    """The next images are read ahead with the iteration's counts of that moment; a save
    made since has newer counts, and showing the image read ahead must keep them (old
    code: "0 / 3 saved" after the first save, whenever the save ended first)."""
    viewer, w, session = docked(demo)
    queued = queue_batch(session)
    annotate = w["Annotate"]
    ahead = annotate.prefetcher._pending[queued[1]]
    ahead.result(timeout=30)  # read ahead, with "0 saved"
    assert ahead.result().tally.counts["annotated"] == 0
    annotate.save()
    idle(annotate)  # the save is written and its counts taken, before the step
    assert annotate.done_bar.value() == 1
    annotate.step(1)
    idle(annotate)
    assert annotate.image_id == queued[1] and annotate.done_bar.value() == 1
