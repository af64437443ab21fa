"""The dock widgets, driven like a person on the demo project (under Xvfb)."""

from __future__ import annotations

import napari
import numpy as np
import pytest
from qtpy.QtCore import Qt

pytestmark = pytest.mark.gui

from napari_specimask._launch import WIDGETS, dock_widgets  # noqa: E402
from napari_specimask._widgets._session import session_for  # noqa: E402
from napari_specimask.core.progress import run  # noqa: E402


def click(qtbot, button):
    assert button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


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


def test_a_full_iteration_like_a_person(make_napari_viewer, qtbot, demo, idle):
    viewer = make_napari_viewer()
    w = dock_widgets(viewer)
    project_w, annotate, al, train = (w["Project"], w["Annotate"], w["Active learning"],
                                      w["Train"])
    project_w.open_project(demo)
    session = session_for(viewer)
    qtbot.waitUntil(lambda: project_w.model.rowCount() == 12, timeout=5000)

    # a first batch without a model: random, shown with cold-start proposals
    al.strategy.setCurrentText("random")
    al.batch_size.setValue(3)
    click(qtbot, al.select_button)
    qtbot.waitUntil(lambda: al.worker is None and al.selection is not None, timeout=30_000)
    idle(annotate)
    assert len(session.queue) == 3 and annotate.image_id == session.queue[0]
    assert "mask" in viewer.layers and viewer.layers["mask"].mode == "paint"

    # paint a correction with the brush, undo works, then paint again and save
    labels = viewer.layers["mask"]
    before = labels.data.copy()
    labels.paint((5, 5), 1)
    labels.undo()
    assert np.array_equal(labels.data, before)
    labels.brush_size = 6
    labels.paint((5, 5), 1)
    assert annotate.edited
    click(qtbot, annotate.buttons["save"])
    idle(annotate)
    first = session.project.annotations(session.queue[0])[-1]
    assert first["origin"] == "corrected" and 0 < first["edited_fraction"] < 0.1

    # next image: accept its proposal as it is
    click(qtbot, annotate.buttons["next"])
    idle(annotate)
    assert annotate.image_id == session.queue[1]
    click(qtbot, annotate.buttons["accept"])
    idle(annotate)
    second = session.project.annotations(session.queue[1])[-1]
    assert second["origin"] == "accepted" and second["edited_fraction"] == 0
    assert annotate.image_id == session.queue[2]
    assert "2 / 3 saved, 1 corrected, 1 accepted" in annotate.progress.text()

    # train in the background: see progress, stop it, start again and let it finish
    train.form.encoder_weights.value = "none"
    train.form.img_size.value = 64
    train.form.batch_size.value = 2
    train.form.epochs.value = 500
    reports = []
    click(qtbot, train.train_button)
    train.worker.yielded.connect(reports.append)
    qtbot.waitUntil(lambda: any(r.stage == "train" for r in reports), timeout=60_000)
    assert not train.train_button.isEnabled() and train.stop_button.isEnabled()
    assert [r[:2] for r in train.models.model.rows] == [("v001", "training")]  # listed live
    click(qtbot, train.stop_button)
    qtbot.waitUntil(lambda: train.worker is None, timeout=60_000)
    assert train.result.status == "stopped"
    train.form.epochs.value = 2
    # a 2-epoch 64 px model does not beat cold start (the gate: test_proposal_sources.py);
    # the person activates it anyway to step on through the loop
    train.activate_when.value = "always"
    click(qtbot, train.train_button)
    qtbot.waitUntil(lambda: train.worker is None, timeout=120_000)
    assert train.result.status == "ready" and session.active_model is not None
    assert "cold start" in train.state.text() and "now active" in train.state.text()
    assert train.source.text().startswith(f"proposals from model {session.active_model}")
    assert train.plot.series["train loss"][0]
    epochs, dice = train.dice_plot.series["val Dice"]  # its own axes: per epoch, not step
    assert epochs == sorted(set(epochs)) and max(epochs) <= 2 and all(0 <= d <= 1 for d in dice)

    # the refreshed model now proposes the next batch, with TTA scores
    al.strategy.setCurrentText("stochastic")
    al.tta.setValue(2)
    al.selection = None
    click(qtbot, al.select_button)
    qtbot.waitUntil(lambda: al.worker is None and al.selection is not None, timeout=60_000)
    idle(annotate)
    assert al.selection.model_version == session.active_model
    assert all(s is not None for _, s in al.selection.chosen)
    assert "proposal" in annotate.status.text()
    assert al.model.rowCount() == len(session.queue)


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


@pytest.mark.parametrize("answer, saved, moved", [("Save", True, True), ("Discard", False, True),
                                                  ("Cancel", False, False)])
def test_unsaved_edits_can_be_asked_about(docked, qtbot, demo, monkeypatch, idle,
                                          answer, saved, moved):
    from qtpy.QtWidgets import QMessageBox

    viewer, w, session = docked(demo)
    session.set_queue([r.id for r in session.project.images(role="pool")][:2])
    annotate = w["Annotate"]
    idle(annotate)
    annotate.on_move.setCurrentText("ask")
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: getattr(QMessageBox.StandardButton, answer))
    first = annotate.image_id
    viewer.layers["mask"].paint((3, 3), 1 - int(viewer.layers["mask"].data[3, 3]))
    click(qtbot, annotate.buttons["next"])
    idle(annotate)
    assert bool(session.project.annotations(first)[1:]) == saved  # [0] is the pseudo mask
    assert (annotate.image_id != first) == moved


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


def test_reading_ahead_never_shows_a_stale_mask(docked, qtbot, demo, idle):
    from napari_specimask.core.io.images import save_mask_png

    viewer, w, session = docked(demo)
    annotate = w["Annotate"]
    ids = [r.id for r in session.project.images(role="pool")][:3]
    session.set_queue(ids)
    idle(annotate)
    qtbot.waitUntil(lambda: all(f.done() for f in annotate.prefetcher._pending.values()))
    assert set(annotate.prefetcher._pending) == {ids[1], ids[2]}  # read ahead

    # save a correction on the second image, go back and forth: the saved mask is shown
    click(qtbot, annotate.buttons["next"])
    idle(annotate)
    viewer.layers["mask"].data = np.zeros_like(viewer.layers["mask"].data)
    viewer.layers["mask"].paint((4, 4), 1)
    corrected = viewer.layers["mask"].data.copy()
    click(qtbot, annotate.buttons["save"])
    click(qtbot, annotate.buttons["previous"])
    idle(annotate)
    click(qtbot, annotate.buttons["next"])
    idle(annotate)
    assert np.array_equal(viewer.layers["mask"].data, corrected)

    # proposals rewritten elsewhere (a retrain): the new one is shown, not the read-ahead
    qtbot.waitUntil(lambda: annotate.prefetcher._pending[ids[2]].done())
    third = session.project.image(ids[2])
    new = np.zeros((third.height, third.width), bool)
    new[:5, :5] = True
    save_mask_png(session.project.proposal_file(ids[2]), new)
    session.images_changed.emit()
    click(qtbot, annotate.buttons["next"])
    idle(annotate)
    assert np.array_equal(viewer.layers["mask"].data > 0, new)


def test_a_whole_round_from_the_widgets(docked, qtbot, trained_demo):
    """Train form saved as the project's defaults (with TensorBoard logs, fine-tuning the
    active model), then one click trains, keeps the model and selects the next batch."""
    import json

    viewer, w, session = docked(trained_demo)
    train, al = w["Train"], w["Active learning"]
    train.form.encoder_weights.value = "none"
    train.form.img_size.value = 64
    train.form.epochs.value = 1
    train.form.batch_size.value = 2
    assert train.form.loggers["csv"].value and not train.form.loggers["csv"].enabled
    train.form.loggers["tensorboard"].value = True
    click(qtbot, train.defaults_button)
    text = (trained_demo / "specimask.toml").read_text()
    assert '"tensorboard"' in text and "img_size = 64" in text and "epochs = 1" in text
    train.start_from.value = "active"
    assert train.config().init_from == "active"
    train.form.epochs.value = 2  # changed after saving: the round trains with the form
    expected_epochs = train.config().epochs

    al.strategy.setCurrentText("stochastic")
    al.batch_size.setValue(2)
    al.n_batches.setValue(3)
    al.tta.setValue(2)
    al.finetune.setChecked(True)
    click(qtbot, al.round_button)
    assert al.stop_button.isEnabled() and not al.select_button.isEnabled()
    qtbot.waitUntil(lambda: al.worker is None, timeout=180_000)
    # v002 judged against the active v001 on the val masks, then the batch is selected
    assert "v002 " in al.state.text() and "beat v001" in al.state.text()
    assert "iteration 1" in al.state.text()
    assert (trained_demo / "models" / "v002" / "tensorboard").is_dir()
    config = json.loads((trained_demo / "models" / "v002" / "config.json").read_text())
    assert config["extra"]["train"]["init_from"] == "v001"  # fine-tuned the active model
    assert config["extra"]["train"]["epochs"] == expected_epochs != 1  # not the saved 1
    assert len(session.queue) == 2 and al.selection.model_version == session.active_model
    assert al.select_button.isEnabled() and not al.stop_button.isEnabled()


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
    assert np.array_equal(session.project.load_mask(rec.id, "pseudo"), mask)

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


def test_the_view_is_refit_only_for_clearly_different_sizes():
    from napari_specimask._widgets.annotate_widget import fits_view

    assert not fits_view((100, 80), None)
    assert fits_view((100, 80), (100, 80)) and fits_view((80, 88), (100, 80))
    assert not fits_view((115, 80), (100, 80))  # larger: would be cut off
    assert not fits_view((70, 80), (100, 80))  # much smaller: would sit in a corner


def test_the_view_fits_a_small_image_after_a_large_one(docked, demo, idle):
    viewer, w, session = docked(demo)
    records = session.project.images(role="pool")
    sheet = next(r for r in records if r.name.startswith("herbarium"))
    crop = next(r for r in records if r.name.startswith("plankton"))
    viewer.add_image(np.zeros((sheet.height * 2, sheet.width * 2)), name="uncertainty")
    session.set_queue([sheet.id, crop.id])
    idle(w["Annotate"])
    w["Annotate"].step(1)
    idle(w["Annotate"])
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera
    center = camera.center[-2:]  # on the crop, not on the union with stale maps
    assert abs(center[0] - (crop.height - 1) / 2) < 2 and abs(center[1] - (crop.width - 1) / 2) < 2


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


def test_models_panel_activates_and_removes(docked, qtbot, demo, monkeypatch,
                                            registered_versions):
    from qtpy.QtWidgets import QMessageBox

    from napari_specimask.core.store.project import Project

    with Project.open(demo) as project:
        registered_versions(project, [0.6, 0.5, 0.4])
    viewer, w, session = docked(demo)
    panel = w["Train"].models
    assert panel.model.rowCount() == 3
    panel.select(["v002"])
    click(qtbot, panel.activate_button)
    assert session.active_model == "v002"
    assert [r[0] for r in panel.model.rows] == ["v001", "* v002", "v003"]
    panel.select(["v002"])
    assert not panel.remove_button.isEnabled()  # the active model cannot be removed
    panel.select(["v001", "v003"])
    assert not panel.activate_button.isEnabled() and panel.remove_button.isEnabled()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    click(qtbot, panel.remove_button)
    assert panel.worker is None and (demo / "models" / "v001" / "weights.safetensors").exists()
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    click(qtbot, panel.remove_button)
    qtbot.waitUntil(lambda: panel.worker is None, timeout=10_000)
    assert "removed v001, v003" in panel.state.text() and "MB freed" in panel.state.text()
    assert not (demo / "models" / "v003" / "weights.safetensors").exists()
    assert [r[1] for r in panel.model.rows] == ["removed", "ready", "removed"]
    qa = w["QA"]
    assert [qa.version.itemText(i) for i in range(qa.version.count())] == ["v002"]
    panel.select(["v001"])
    assert not panel.activate_button.isEnabled() and not panel.remove_button.isEnabled()


def test_rounds_and_continuous_training_train_with_the_train_form(make_napari_viewer, qtbot,
                                                                 demo, tmp_path):
    """Old code: continuous training used specimask.toml until *Save as project defaults*
    was pressed, while rounds used the form. Now the form is the session's training
    options: every run of this window trains with what it shows, even once closed."""
    from napari_specimask.core.loop.continuous import fine_tune_config
    from napari_specimask.core.store.project import Project

    viewer = make_napari_viewer()
    session = session_for(viewer)
    session.open(demo)
    default_epochs = session.project.settings.train.epochs
    assert session.run_training().epochs == default_epochs  # no Train widget: defaults
    dock, train = viewer.window.add_plugin_dock_widget("napari-specimask", "Train")
    train.form.epochs.value = default_epochs + 3
    train.form.img_size.value = 96
    cfg = session.run_training(init_from="active")
    assert (cfg.epochs, cfg.img_size, cfg.init_from) == (default_epochs + 3, 96, "active")
    short = fine_tune_config(session.project, session.training)
    assert short.img_size == 96 and short.epochs == session.project.settings.continuous.epochs
    viewer.window.remove_dock_widget(dock)  # its close button: the options stay in use
    assert session.run_training().epochs == default_epochs + 3
    dock, train2 = viewer.window.add_plugin_dock_widget("napari-specimask", "Train")
    assert train2.form.epochs.value == default_epochs + 3  # it shows what is in use
    train.deleteLater()  # the old one going away changes nothing
    qtbot.wait(50)
    assert session.run_training().epochs == default_epochs + 3
    Project.create(tmp_path / "other").close()
    session.open(tmp_path / "other")  # another project: its own defaults, in the form too
    assert session.run_training().img_size == session.project.settings.model.img_size
    assert train2.form.img_size.value == session.project.settings.model.img_size


def test_one_schedule_rule_for_the_form_and_the_cli(make_napari_viewer, demo):
    """Old code: at iteration 3, `specimask train --img-size 512` trained at 512 px and
    the Train form showing 512 at 512 + 3 x px. Both add the schedule to the base now."""
    from napari_specimask.cli import build_parser
    from napari_specimask.cli._train import config_from_args
    from napari_specimask.core.active.queue import select_next

    viewer = make_napari_viewer()
    session = session_for(viewer)
    session.open(demo)
    project = session.project
    project.settings.train.epochs_per_iteration, project.settings.train.px_per_iteration = 2, 16
    project.save_settings()
    for _ in range(3):
        run(select_next(project, "random", 1))
    session.open(demo)  # the settings as saved
    dock, train = viewer.window.add_plugin_dock_widget("napari-specimask", "Train")
    train.form.img_size.value, train.form.epochs.value = 512, 10
    form = train.config()
    args = build_parser().parse_args(["train", str(demo), "--img-size", "512", "--epochs", "10"])
    cli = config_from_args(session.project, args)
    assert (form.img_size, form.epochs) == (cli.img_size, cli.epochs) == (560, 16)
    assert form.schedule_note() == cli.schedule_note() == (
        "iteration 3 schedule: 512 + 3 x 16 px = 560 px, 10 + 3 x 2 = 16 epochs")
    assert "560 px" in train.state.text()  # said before the run starts


def test_train_form_offers_every_training_option_with_its_default(make_napari_viewer, demo):
    """The form is generated from the settings' fields: every [model] and [train] setting
    has a widget there showing its default (a new field cannot be forgotten), the main
    ones in view and the rest under *more options*, and each reaches the run's config."""
    from napari_specimask.core.settings import ModelSettings, TrainSettings, offered
    from napari_specimask.core.training.config import TrainConfig

    viewer = make_napari_viewer()
    dock, train = viewer.window.add_plugin_dock_widget("napari-specimask", "Train")
    form, defaults = train.form, TrainConfig()
    settings = offered(ModelSettings) + offered(TrainSettings)
    assert {o.name for o in settings} <= set(form.widgets)
    assert form.values() == {name: getattr(defaults, name) for name in form.widgets}
    assert form.epochs.native.isVisibleTo(train) and form.more.isHidden()
    assert form.more.isAncestorOf(form.patience.native)
    form.show_more.value = True
    assert not form.more.isHidden()
    session = session_for(viewer)
    session.open(demo)
    expected = TrainConfig.from_settings(session.project.settings)
    assert form.values() == {name: getattr(expected, name) for name in form.widgets}
    assert train.form_config() == expected
    form.patience.value, form.pseudo_roles.value = 3, ["source"]
    form.encoder_weights.value = "weights/encoder.safetensors"  # any file, not only a choice
    cfg = train.form_config()
    assert (cfg.patience, cfg.pseudo_roles, cfg.encoder_weights) == (
        3, ["source"], "weights/encoder.safetensors")
    assert form.loggers["csv"].value and not form.loggers["csv"].enabled


@pytest.mark.parametrize(("mode", "answer", "origin"), [
    ("save", None, "corrected"), ("ask", "Save", "corrected"), ("ask", "Discard", "accepted"),
    ("ask", "Cancel", None)])
def test_accept_after_painting_never_drops_the_edits_silently(docked, qtbot, demo, monkeypatch,
                                                              idle, mode, answer, origin):
    """Old code: Alt-A after painting saved the proposal as 'accepted', edits gone."""
    from qtpy.QtWidgets import QMessageBox

    from napari_specimask.core.active.queue import select_next

    viewer, w, session = docked(demo)
    chosen = run(select_next(session.project, "random", 2)).chosen  # with their proposals
    session.set_queue([i for i, _ in chosen])
    annotate = w["Annotate"]
    idle(annotate)
    annotate.on_move.setCurrentText(mode)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a[2]) or
                        getattr(QMessageBox.StandardButton, answer))
    first = annotate.image_id
    labels = viewer.layers["mask"]
    labels.paint((20, 20), 1 - int(labels.data[20, 20]))
    painted = labels.data > 0
    canvas = viewer.window._qt_viewer.canvas.native
    qtbot.keyClick(canvas, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)  # Alt-A, as a person
    idle(annotate)
    saved = session.project.annotations(first)[1:]  # [0]: the cold-start mask
    assert bool(asked) == (mode == "ask")
    if origin is None:
        assert saved == [] and annotate.image_id == first and (labels.data > 0).sum() == \
            painted.sum()
        return
    assert [a["origin"] for a in saved] == [origin] and annotate.image_id != first
    if origin == "corrected":
        assert np.array_equal(session.project.load_mask(first), painted)


def test_skip_after_painting_follows_the_setting(docked, qtbot, demo, monkeypatch, idle):
    from qtpy.QtWidgets import QMessageBox

    viewer, w, session = docked(demo)
    ids = [r.id for r in session.project.images(role="pool")][:3]
    session.set_queue(ids)
    annotate = w["Annotate"]
    idle(annotate)
    annotate.on_move.setCurrentText("ask")
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: QMessageBox.StandardButton.Cancel)
    labels = viewer.layers["mask"]
    labels.paint((20, 20), 1 - int(labels.data[20, 20]))  # a real change, wherever it is
    click(qtbot, annotate.buttons["skip"])
    assert annotate.image_id == ids[0] and session.project.image(ids[0]).status != "skipped"
    annotate.on_move.setCurrentText("save")
    click(qtbot, annotate.buttons["skip"])
    idle(annotate)
    assert session.project.image(ids[0]).status == "skipped" and annotate.image_id == ids[1]
    assert [a["origin"] for a in session.project.annotations(ids[0])][1:] == ["hand"]


def test_closing_the_train_dock_mid_run_stops_it_and_activates_nothing(make_napari_viewer,
                                                                      qtbot, trained_demo):
    """Old code: the run went on unseen to the end, was activated and refreshed proposals."""
    from napari_specimask.core.store.registry import active_version, list_models

    viewer = make_napari_viewer()
    session = session_for(viewer)
    session.open(trained_demo)
    before = active_version(session.project)
    dock, train = viewer.window.add_plugin_dock_widget("napari-specimask", "Train")
    train.form.img_size.value = 64
    train.form.epochs.value = 200  # far longer than the test waits
    train.form.encoder_weights.value = "none"
    steps = []
    worker = train.start()
    worker.yielded.connect(steps.append)
    qtbot.waitUntil(lambda: len(steps) >= 3, timeout=60_000)
    click(qtbot, dock.title.close_button)  # the dock's x, as a person closes it
    assert train.parent() is None  # napari took it out of its dock; it lives on unseen
    qtbot.waitUntil(lambda: not worker.is_running, timeout=60_000)
    qtbot.waitUntil(lambda: list_models(session.project)[-1]["status"] != "training",
                    timeout=60_000)  # the training thread ends at its next step
    version = list_models(session.project)[-1]
    assert version["status"] == "stopped"
    assert active_version(session.project) == before
    assert train.refresh_worker is None


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_plots_follow_the_viewer_theme(make_napari_viewer, theme):
    """Old code: white plots on napari's dark theme."""
    from napari.utils.theme import get_theme

    viewer = make_napari_viewer()
    w = dock_widgets(viewer)
    viewer.theme = theme
    plot = w["Train"].plot
    plot.add("train loss", 1, 0.5)
    plot.redraw()
    want = get_theme(theme).background.as_hex().lower()
    from matplotlib.colors import to_hex
    assert to_hex(plot.figure.get_facecolor()).lower() == want
    assert to_hex(plot.ax.get_facecolor()).lower() == want


def test_seven_tabs_keep_their_whole_names(make_napari_viewer):
    """Old code: 'Pr...', 'T...', 'Q...' (seven 'Name (napari-specimask)' tabs, elided)."""
    from qtpy.QtWidgets import QTabBar

    viewer = make_napari_viewer()
    dock_widgets(viewer)
    bars = [b for b in viewer.window._qt_window.findChildren(QTabBar) if b.count() == 7]
    assert len(bars) == 1
    bar = bars[0]
    assert [bar.tabText(i) for i in range(bar.count())] == list(WIDGETS)
    assert bar.elideMode() == Qt.TextElideMode.ElideNone and bar.usesScrollButtons()


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
    # (nearly) nothing over the paper; above it, deeper the surer


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
