"""Predictions: overlays of the active model, QA and refreshed proposals, reading the
next overlays ahead, the colour maps and their hotkeys."""

from __future__ import annotations

import numpy as np
import pytest
from _gui import click
from qtpy.QtCore import Qt

from napari_specimask.core.progress import run

pytestmark = pytest.mark.gui


def test_predictions_qa_and_refreshed_proposals(docked, qtbot, trained_demo, idle):
    viewer, w, session = docked(trained_demo)
    preds, qa, al, train = w["Predictions"], w["QA"], w["Active learning"], w["Train"]
    preds.tta.setValue(4)

    al.strategy.setCurrentText("uncertainty")
    al.batch_size.setValue(2)
    al.tta.setValue(4)
    click(qtbot, al.select_button)
    qtbot.waitUntil(lambda: al.selection is not None and al.worker is None, timeout=60_000)
    # the shown image's maps are computed in a worker, then shown with score and rank
    qtbot.waitUntil(lambda: "uncertainty" in viewer.layers, timeout=60_000)
    assert viewer.layers["uncertainty"].data.shape == viewer.layers["mask"].data.shape
    outline = viewer.layers["prediction"].data
    assert outline.shape == viewer.layers["mask"].data.shape and set(np.unique(outline)) <= {0, 1}
    assert viewer.layers.selection.active.name == "mask"  # still ready to paint
    qtbot.waitUntil(lambda: "rank" in preds.info.text(), timeout=10_000)
    # moving to a cached image is instant (no worker)
    first = session.canvas.image_id
    w["Annotate"].step(1)
    idle(w["Annotate"])
    qtbot.waitUntil(lambda: preds.image_id != first and preds.shown is not None
                    and preds.worker is None, timeout=60_000)
    w["Annotate"].step(-1)
    idle(w["Annotate"])
    qtbot.waitUntil(lambda: preds.image_id == first and preds.shown is not None)
    assert session.canvas.image_id == first and preds.worker is None

    # QA: worst first, a row shows TP / FP / FN, and a second version side by side
    qa.split.setCurrentText("val")
    click(qtbot, qa.run_button)
    qtbot.waitUntil(lambda: qa.worker is None and bool(qa.rows), timeout=60_000)
    dices = [r.dice for r in qa.rows]
    assert dices == sorted(dices) and "mean Dice" in qa.summary.text()
    version = qa.version.currentText()
    qa.show_row(0)
    qtbot.waitUntil(lambda: qa.worker is None and qa.view.is_open, timeout=60_000)
    errors = qa.view.layers[1].data
    assert qa.view.layers[1].name.startswith(f"{version} errors")
    assert set(np.unique(errors)) <= {0, 1, 2, 3} and errors.any()

    # a retrain refreshes the proposals of queued images not yet reached
    train.form.encoder_weights.value = "none"
    train.form.img_size.value = 64
    train.form.batch_size.value = 2
    train.form.epochs.value = 1
    train.activate_when.value = "always"
    click(qtbot, train.train_button)
    qtbot.waitUntil(lambda: train.worker is None, timeout=120_000)
    assert session.active_model == train.result.version
    qtbot.waitUntil(lambda: "refreshed" in train.state.text(), timeout=60_000)
    other = [i for i in session.queue if i != session.canvas.image_id][0]
    item = session.project.store.read_one(
        "SELECT proposal FROM iteration_items WHERE image_id = ?", (other,))
    assert item["proposal"] == train.result.version
    qa._load_models()
    qa.compare.setCurrentText("v001")
    qa.version.setCurrentText(session.active_model)
    click(qtbot, qa.run_button)
    qtbot.waitUntil(lambda: qa.worker is None, timeout=60_000)
    qa.show_row(0)
    qtbot.waitUntil(lambda: len(qa.view.layers) == 6, timeout=60_000)  # A, B, difference
    assert qa.view.layers[3].name.startswith("v001 errors")

    # rows belong to the version they were evaluated with, and cleared maps come back
    import shutil

    from napari_specimask.core.model.removal import remove_versions
    from napari_specimask.core.progress import run as run_job

    active = session.active_model
    qtbot.waitUntil(lambda: qa.worker is None, timeout=60_000)
    qa.version.setCurrentText("v001")
    shutil.rmtree(trained_demo / "cache" / active / "tta1")  # derived data, may go
    qa.close_view()
    qa.show_row(0)
    qtbot.waitUntil(lambda: qa.view.is_open, timeout=60_000)
    click(qtbot, qa.run_button)  # now the table is v001's
    qtbot.waitUntil(lambda: qa.worker is None and qa.rows_version == "v001", timeout=60_000)
    run_job(remove_versions(session.project, ["v001"]))
    session.models_changed.emit()
    assert qa.rows == [] and qa.model.rowCount() == 0 and "v001 is gone" in qa.summary.text()
    assert "v001" not in [qa.compare.itemText(i) for i in range(qa.compare.count())]



def test_closing_a_widget_stops_its_worker(docked, qtbot, trained_demo):
    viewer, w, session = docked(trained_demo)
    preds = w["Predictions"]
    preds.update_for(session.project.images()[0].id)  # not cached: a worker
    qtbot.waitUntil(lambda: preds.worker is not None, timeout=10_000)
    worker = preds.worker
    viewer.window.remove_dock_widget(preds)  # napari finds its dock
    preds.deleteLater()
    qtbot.waitUntil(lambda: worker.abort_requested, timeout=10_000)
    qtbot.waitUntil(lambda: not worker.is_running, timeout=60_000)



def test_predictions_read_the_next_overlays_ahead(docked, qtbot, trained_demo, idle):
    from napari_specimask.core.inference.cache import compute_predictions

    viewer, w, session = docked(trained_demo)
    preds = w["Predictions"]
    preds.tta.setValue(2)
    ids = [r.id for r in session.project.images(role="pool")][:3]
    run(compute_predictions(session.project, session.active_model, ids, 2))
    session.set_queue(ids)
    qtbot.waitUntil(lambda: preds.image_id == ids[0] and preds.shown is not None)
    pending = {key[1] for key in preds.prefetcher._pending}
    assert pending == {ids[1], ids[2]}  # the contour and score line of the next two
    w["Annotate"].step(1)
    idle(w["Annotate"])
    qtbot.waitUntil(lambda: preds.image_id == ids[1] and preds.shown is not None)
    pred, contour, _limits, text = preds.shown
    assert np.array_equal(viewer.layers["prediction"].data, contour)
    assert contour.shape == (session.project.image(ids[1]).height,
                             session.project.image(ids[1]).width)
    assert text.startswith(f"model {session.active_model}")



def test_overlays_are_translucent_with_a_transparent_floor():
    """Old code: additive inferno/magma, a pale wash on white paper."""
    from napari_specimask._widgets._colormaps import PROBABILITY, UNCERTAINTY

    for cmap in (PROBABILITY, UNCERTAINTY):
        rgba = cmap.map(np.array([0.0, 1.0]))
        assert rgba[0, 3] == 0 and rgba[1, 3] >= 0.65  # clear when sure, solid at the top
        assert rgba[1, :3].max() - rgba[1, :3].min() > 0.5  # a saturated colour, not grey



def test_a_weak_models_overlays_leave_most_of_the_sheet_alone():
    """Old code: a weak model's uncertainty turned the whole beige sheet orange-red (a fixed
    range from 0), and its probability was a haze over the paper."""
    from napari_specimask._widgets._colormaps import PROBABILITY, uncertainty_limits

    rng = np.random.default_rng(0)
    weak = rng.uniform(0.3, 0.6, (600, 400)).astype(np.float32)  # uncertain everywhere
    low, high = uncertainty_limits(weak)
    assert np.mean(weak > low) == pytest.approx(0.10, abs=0.02)  # only the top tenth
    assert low < high <= weak.max()
    good = np.zeros((600, 400), np.float32)
    good[300, 50:350] = 0.8  # a sure model: uncertain along one outline only
    good += rng.uniform(0, 0.002, good.shape).astype(np.float32)  # and noise
    low, high = uncertainty_limits(good)
    assert np.mean(good > low) < 0.01 and (good[300, 50:350] >= high).all()
    assert uncertainty_limits(np.zeros((10, 10), np.float32)) == (0.0, 1.0)
    alpha = PROBABILITY.map(np.array([0.3, 0.45, 0.55, 0.95]))[:, 3]
    assert alpha[0] == 0 and alpha[1] <= 0.21 and 0.3 < alpha[2] < alpha[3]  # below 0.5:



def test_overlay_and_outline_hotkeys(docked, qtbot, demo, idle):
    viewer, w, session = docked(demo)
    session.set_queue([r.id for r in session.project.images(role="pool")][:1])
    idle(w["Annotate"])
    preds, canvas = w["Predictions"], viewer.window._qt_viewer.canvas.native
    alt = Qt.KeyboardModifier.AltModifier
    for key, box in ((Qt.Key.Key_U, preds.show_uncertainty), (Qt.Key.Key_P,
                     preds.show_probability), (Qt.Key.Key_C, preds.show_contour)):
        before = box.isChecked()
        qtbot.keyClick(canvas, key, alt)
        assert box.isChecked() != before
    mask = viewer.layers["mask"]
    assert mask.contour == 0
    qtbot.keyClick(canvas, Qt.Key.Key_O, alt)
    assert mask.contour > 0
    qtbot.keyClick(canvas, Qt.Key.Key_O, alt)
    assert mask.contour == 0

