"""The Train widget: a round, the models panel, one source of training options and one
schedule rule, stopping, the plots and the tab names."""

from __future__ import annotations

import pytest
from _gui import click
from qtpy.QtCore import Qt

from napari_specimask._launch import WIDGETS, dock_widgets
from napari_specimask._widgets._session import session_for
from napari_specimask.core.progress import run

pytestmark = pytest.mark.gui


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
    from napari_specimask.core.options import offered
    from napari_specimask.core.settings import ModelSettings, TrainSettings
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
    form.patience.value, form.cold_start_roles.value = 3, ["source"]
    form.encoder_weights.value = "weights/encoder.safetensors"  # any file, not only a choice
    cfg = train.form_config()
    assert (cfg.patience, cfg.cold_start_roles, cfg.encoder_weights) == (
        3, ["source"], "weights/encoder.safetensors")
    assert form.loggers["csv"].value and not form.loggers["csv"].enabled



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

