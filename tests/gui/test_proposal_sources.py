"""Which proposals a person is shown, in napari alone: the cold-start method is chosen on
the project's images (old code: a fixed `background`, which marked whole real sheets),
the picker previews every method and re-running cold start reaches queued images (old
code: their frozen proposals won), and a model replaces the proposals only when it is
better on held-out verified masks (old code: a val Dice 0.14 model was activated)."""

from __future__ import annotations

import numpy as np
import pytest
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLabel, QMessageBox

pytestmark = pytest.mark.gui


def click(qtbot, button):
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _queue(qtbot, session, n=3):
    from napari_specimask.core.active.queue import select_next
    from napari_specimask.core.progress import run

    sel = run(select_next(session.project, "random", n))
    session.set_queue([i for i, _ in sel.chosen])
    qtbot.waitUntil(lambda: session.canvas is not None, timeout=30_000)
    return [i for i, _ in sel.chosen]


def _proposal(project, image_id):
    return project.load_mask(image_id, "proposal")


def test_picker_previews_each_method_side_by_side_and_applies_to_queued_images(
        docked, qtbot, demo):
    from napari_specimask.core.coldstart.methods import METHODS, ColdStart

    viewer, w, session = docked(demo)
    queued = _queue(qtbot, session)
    project = session.project
    before = {i: _proposal(project, i) for i in queued}
    picker = w["Project"].open_picker()
    click(qtbot, picker.preview_button)
    qtbot.waitUntil(lambda: picker.worker is None and picker.choice is not None,
                    timeout=60_000)
    heads = [picker.grid.itemAtPosition(0, c).widget().text() for c in range(len(METHODS))]
    assert [h.split("</b>")[0].removeprefix("<b>") for h in heads] == list(METHODS)
    assert sum("★ chosen" in h for h in heads) == 1   # the measured choice, marked
    thumbs = [picker.grid.itemAtPosition(r, c).widget() for r in range(1, 5)
              for c in range(len(METHODS))]
    assert all(isinstance(t, QLabel) and not t.pixmap().isNull() for t in thumbs)
    picker.method.value = "otsu"  # the person picks another method and a clean-up
    picker.min_size.value = 50
    click(qtbot, picker.apply_button)
    qtbot.waitUntil(lambda: picker.worker is None and "applied" in picker.note.text(),
                    timeout=60_000)
    assert project.settings.coldstart.method == "otsu"
    assert project.settings.coldstart.min_size == 50
    otsu = ColdStart("otsu", picker.post())
    for i in queued:  # queued images are shown the new proposals, not the frozen ones
        want = otsu(project.read_image(project.image(i))[..., :3])
        assert np.array_equal(_proposal(project, i), want)
        assert not np.array_equal(before[i], want)
    current = session.canvas.image_id
    qtbot.waitUntil(lambda: "showing its cold-start proposal (otsu)"
                    in w["Annotate"].status.text(), timeout=30_000)  # shown again
    assert np.array_equal(viewer.layers["mask"].data > 0, _proposal(project, current))


def test_picker_asks_before_replacing_the_proposal_being_edited(docked, qtbot, demo,
                                                                monkeypatch):
    viewer, w, session = docked(demo)
    queued = _queue(qtbot, session)
    project = session.project
    current = session.canvas.image_id
    shown = _proposal(project, current)
    mask = viewer.layers["mask"]
    painted = mask.data.copy()
    painted[:10, :10] = 1 - painted[:10, :10]   # a person's unsaved strokes
    mask.data = painted
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.No)
    picker = w["Project"].open_picker()
    picker.method.value = "otsu"
    click(qtbot, picker.apply_button)
    qtbot.waitUntil(lambda: picker.worker is None and "applied" in picker.note.text(),
                    timeout=60_000)
    assert len(asked) == 1 and "unsaved edits" in asked[0]
    assert np.array_equal(_proposal(project, current), shown)   # kept, as answered
    assert np.array_equal(viewer.layers["mask"].data, painted)  # the strokes are still there
    others = [i for i in queued if i != current]
    assert project.settings.coldstart.method == "otsu"
    from napari_specimask.core.coldstart.methods import ColdStart

    otsu = ColdStart.from_settings(project.settings.coldstart)
    for i in others:
        assert np.array_equal(_proposal(project, i),
                              otsu(project.read_image(project.image(i))[..., :3]))


def test_training_in_napari_with_no_val_images_holds_some_out_and_keeps_better_proposals(
        docked, qtbot, demo):
    """From the GUI alone: no val images, a few verified masks, one short run. The run
    holds verified masks out, its model is judged against cold start on them, and a
    model worse than cold start is not activated; the Train widget says why."""
    from napari_specimask.core.io.images import read_mask

    viewer, w, session = docked(demo)
    project = session.project
    project.set_role([r.id for r in project.images(role="val")], "test")
    for rec in project.images(role="pool")[:5]:
        project.save_mask(rec.id, read_mask(demo / "truth" / f"{rec.name}.png"), "hand")
    train = w["Train"]
    assert "cold start" in train.source.text() and "no model trained yet" in train.source.text()
    train.form.encoder_weights.value = "none"
    train.start(img_size=64, epochs=1, max_steps=1, batch_size=2, encoder="resnet18")
    qtbot.waitUntil(lambda: train.worker is None, timeout=120_000)
    text = train.state.text()
    assert text.startswith("held out 1 verified image(s) for validation")
    assert "did not beat cold start" in text and "not activated" in text
    assert session.active_model is None and len(project.images(role="val")) == 1
    assert "proposals from cold start" in train.source.text()
    assert "did not beat" in train.source.text()
