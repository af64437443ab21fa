"""Corrective mode (paint only the errors over the proposal) and continuous training
(the model fine-tunes after every few saves while the person goes on), by a person's
clicks and keys."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt

pytestmark = pytest.mark.gui

ALT = Qt.KeyboardModifier.AltModifier


def _tick(qtbot, box):
    """A click on the check box's square, wherever the style draws it (the window is not
    on screen, so its widgets keep the size Qt gives unshown ones)."""
    from qtpy.QtWidgets import QStyle, QStyleOptionButton

    option = QStyleOptionButton()
    box.initStyleOption(option)
    square = box.style().subElementRect(QStyle.SubElement.SE_CheckBoxIndicator, option, box)
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=square.center())


def test_corrections_add_and_remove_over_the_proposal_and_save_applied(queue_batch, docked,
                                                                      qtbot, demo, idle):
    viewer, w, session = docked(demo)
    queued = queue_batch(session)
    annotate, canvas = w["Annotate"], viewer.window._qt_viewer.canvas.native
    proposal = viewer.layers["mask"].data.copy()
    _tick(qtbot, annotate.corrective.toggle)
    marks = viewer.layers["corrections"]
    assert viewer.layers.selection.active is marks and viewer.layers[-1] is marks
    assert marks.brush_size == viewer.layers["mask"].brush_size
    qtbot.keyClick(canvas, Qt.Key.Key_D, ALT)  # Alt-D: the add brush
    assert (marks.mode, marks.selected_label) == ("paint", 1)
    off = np.argwhere(proposal == 0)[0]
    marks.paint(tuple(off), 1)
    qtbot.keyClick(canvas, Qt.Key.Key_R, ALT)  # Alt-R: the remove brush
    assert marks.selected_label == 2
    on = np.argwhere(proposal == 1)[len(np.argwhere(proposal == 1)) // 2]
    marks.paint(tuple(on), 2)
    assert np.array_equal(viewer.layers["mask"].data, proposal)  # the proposal untouched
    added, removed = int((marks.data == 1).sum()), int((marks.data == 2).sum())
    assert added and removed
    qtbot.keyClick(canvas, Qt.Key.Key_N, ALT)  # save and next
    idle(annotate)
    project = session.project
    ann = project.annotations(queued[0])[-1]
    assert ann["origin"] == "corrected"
    assert (ann["pixels_added"], ann["pixels_removed"]) == (added, removed)
    saved = project.load_mask(queued[0])
    assert saved[tuple(off)] and not saved[tuple(on)]
    assert int(saved.sum()) == int(proposal.sum()) + added - removed
    assert annotate.image_id == queued[1] and not viewer.layers["corrections"].data.any()
    assert viewer.layers["corrections"].selected_label == 2  # the person's brush stays


def test_a_click_tool_in_corrective_mode_marks_corrections_and_undoes(queue_batch, docked,
                                                                     qtbot, demo):
    viewer, w, session = docked(demo)
    queue_batch(session)
    mask = viewer.layers["mask"]
    data = np.zeros_like(mask.data)
    data[5:20, 5:20] = 1  # a label box the proposal took in
    data[30:60, 30:60] = 1
    mask.data = data
    _tick(qtbot, w["Annotate"].corrective.toggle)
    marks = viewer.layers["corrections"]
    viewer.cursor.position = (10.0, 10.0)
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key.Key_X, ALT)
    assert (marks.data[5:20, 5:20] == 2).all() and (marks.data == 2).sum() == 225
    assert np.array_equal(mask.data, data)
    assert not w["Annotate"].mask[5:20, 5:20].any()  # what a save would store
    marks.undo()
    assert not marks.data.any()


def test_leaving_corrective_mode_keeps_what_was_painted(queue_batch, docked, qtbot, demo):
    viewer, w, session = docked(demo)
    queue_batch(session)
    annotate = w["Annotate"]
    proposal = viewer.layers["mask"].data.copy()
    _tick(qtbot, annotate.corrective.toggle)
    off = tuple(np.argwhere(proposal == 0)[0])
    viewer.layers["corrections"].paint(off, 1)
    edited = annotate.mask.copy()
    _tick(qtbot, annotate.corrective.toggle)  # off again
    assert "corrections" not in viewer.layers
    assert np.array_equal(viewer.layers["mask"].data > 0, edited) and edited[off]
    assert annotate.edited  # still unsaved edits: moving on follows the setting
    assert viewer.layers.selection.active is viewer.layers["mask"]


def _fast(project):
    project.settings.model.img_size = 64
    project.settings.model.encoder_weights = "none"
    project.settings.train.batch_size, project.settings.train.samples_per_epoch = 2, 2
    project.settings.continuous.epochs = 1
    project.save_settings()


def test_continuous_training_runs_after_n_saves_and_refreshes_the_queue(
        queue_batch, docked, qtbot, trained_demo, idle):
    from napari.utils import progress

    from napari_specimask.core.store.iterations import latest_iteration_item
    from napari_specimask.core.store.registry import list_models

    viewer, w, session = docked(trained_demo)
    project = session.project
    _fast(project)
    project.settings.coldstart.min_size = 10**9  # cold start proposes nothing ...
    with project.store.transaction() as conn:  # ... and is what is shown: v001 retired
        conn.execute("UPDATE models SET active = 0")
    queued = queue_batch(session, 4)
    annotate, canvas = w["Annotate"], viewer.window._qt_viewer.canvas.native
    cont = annotate.continuous
    cont.every.lineEdit().selectAll()
    qtbot.keyClicks(cont.every, "2")  # typed, as a person sets it
    assert project.settings.continuous.every != 2  # not written while typing
    qtbot.keyClick(cont.every, Qt.Key.Key_Return)
    assert project.settings.continuous.every == 2  # stored for the next session
    _tick(qtbot, cont.toggle)
    qtbot.keyClick(canvas, Qt.Key.Key_N, ALT)
    idle(annotate)
    assert not cont.running and "after 1 more save" in cont.status.text()
    qtbot.keyClick(canvas, Qt.Key.Key_N, ALT)
    idle(annotate)
    assert cont.running and cont.stop_button.isEnabled()
    assert any(p.desc.startswith("specimask: continuous training")
               for p in progress._all_instances)  # in napari's activity dock
    labels = viewer.layers["mask"]  # the person goes on painting while it trains
    labels.paint((10, 10), 1 - int(labels.data[10, 10]))
    assert annotate.image_id == queued[2] and annotate.edited
    qtbot.waitUntil(lambda: not cont.running, timeout=120_000)
    new = list_models(project)[-1]
    assert new["version"] == "v002" and new["active"]  # it beat the empty cold start
    assert new["config"]["extra"]["train"]["init_from"] == "v001"  # the runs add up
    assert "v002 now active" in cont.status.text()
    assert "next fine-tuning after 2 more save(s)" in cont.status.text()
    # the image nobody has opened shows v002's proposal; the one being painted keeps its
    assert latest_iteration_item(project, queued[3])["proposal"] == "v002"
    assert latest_iteration_item(project, queued[2])["proposal"] == "coldstart"
    assert annotate.edited  # the painting was not replaced
    qtbot.keyClick(canvas, Qt.Key.Key_N, ALT)  # on to the next: the newest model's
    idle(annotate)
    assert annotate.image_id == queued[3]
    assert "proposal from model v002" in annotate.status.text()
    shown = viewer.layers["mask"].data > 0
    assert np.array_equal(shown, project.load_mask(queued[3], "proposal"))


def test_stop_ends_the_run_and_activates_nothing(queue_batch, docked, qtbot, trained_demo,
                                                 idle):
    from napari_specimask.core.store.registry import active_version, list_models

    viewer, w, session = docked(trained_demo)
    _fast(session.project)
    session.project.settings.continuous.epochs = 50  # long enough to be stopped
    queue_batch(session, 3)
    cont = w["Annotate"].continuous
    cont.every.setValue(1)
    cont.every.editingFinished.emit()
    _tick(qtbot, cont.toggle)
    qtbot.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key.Key_N, ALT)
    idle(w["Annotate"])
    assert cont.running
    qtbot.mouseClick(cont.stop_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not cont.running, timeout=120_000)
    assert list_models(session.project)[-1]["status"] == "stopped"
    assert active_version(session.project) == "v001"
    assert cont.toggle.isChecked()  # the mode stays on for the next saves
