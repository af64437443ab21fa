"""Train dock widget: the training settings as a form (generated from their fields in
core/settings.py, see ``_form``), Train / Stop, live progress, and the model versions
(activate one, free disk).

Training runs in a worker thread (``core.loop.gate.train_and_gate``) while the person
keeps annotating; Stop sets the core stop event, which ends training after the current
step with a usable model. A finished model becomes active (and refreshes the queued
proposals) only when its proposals beat the current ones on held-out verified masks;
the *proposals* line says which source is in use and why. Errors, out-of-memory
included, arrive as notifications.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from magicgui.widgets import ComboBox
from napari.utils.notifications import show_info, show_warning
from qtpy.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from napari_specimask.core.active.queue import refresh_unopened
from napari_specimask.core.loop.gate import train_and_gate
from napari_specimask.core.settings import save_training_defaults
from napari_specimask.core.store.verdicts import proposal_source
from napari_specimask.core.training.config import TrainConfig
from napari_specimask.core.vocabulary import ACTIVATE_WHEN

from ._dock import DockWidget
from ._form import SettingsForm
from ._jobs import start_job
from ._plots import LinePlot
from ._session import listen, session_for
from .models_panel import ModelsPanel

# the choices the form cannot take from the settings: (label, value)
ACTIVATE = tuple(zip(("if its proposals are better", "always", "never"), ACTIVATE_WHEN))
START_FROM = (("encoder weights", ""), ("active model (fine-tune)", "active"))
LOGGER_TIPS = {
    "csv": "always written to models/VERSION/metrics.csv",
    "tensorboard": "models/VERSION/tensorboard; needs tensorboard",
    "wandb": "Weights & Biases project 'specimask'; needs wandb and a login (`wandb login`)",
}


class TrainWidget(DockWidget):
    tab_name = "Train"

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.worker = None
        self.refresh_worker = None
        self.stop_event: threading.Event | None = None
        self.result = None
        self.listed = False  # the version being trained is in the model table
        self.form = self._build_form()
        self.bar = QProgressBar()
        self.state = QLabel("")
        self.state.setWordWrap(True)
        self.source = QLabel("")  # which proposals Annotate shows, and why
        self.source.setWordWrap(True)
        self.plot = LinePlot("step", "train loss", viewer=napari_viewer)
        self.dice_plot = LinePlot("epoch", "val Dice", viewer=napari_viewer)  # own axes
        self.models = ModelsPanel(self.session, self)
        layout = QVBoxLayout(self.body)
        layout.addWidget(self.form.native)
        layout.addLayout(self._build_buttons())
        for w in (self.bar, self.state, self.source, self.plot, self.dice_plot, self.models):
            layout.addWidget(w)
        listen(self, self.session.events.project, self._load_defaults)
        listen(self, self.session.events.project, self._show_source)
        listen(self, self.session.models_changed, self._show_source)
        listen(self, self.session.images_changed, self._show_source)  # cold start chosen, rerun
        # the form is the session's training options: rounds and continuous training
        # train with what it shows, and it shows what they will use
        self.form.changed.connect(self._form_changed)
        listen(self, self.session.events.training, self._training_changed)
        self._load_defaults(self.session.project)
        self._show_source()

    def _show_source(self, *_) -> None:
        project = self.session.project
        self.source.setText(proposal_source(project) if project is not None else "")

    def _build_form(self) -> SettingsForm:
        """The training options (generated from TrainConfig's fields), then what only this
        widget asks: start from the encoder weights or the active model, and activation."""
        form = SettingsForm(TrainConfig)
        csv = form.loggers["csv"]
        csv.enabled = False  # always written: the metrics file of a model
        for name, tip in LOGGER_TIPS.items():
            form.loggers[name].tooltip = tip
        self.start_from = ComboBox(label="start from", choices=START_FROM)
        self.activate_when = ComboBox(label="activate new model", choices=ACTIVATE)
        form.add_row(self.start_from)
        form.add_row(self.activate_when)
        return form

    def _build_buttons(self) -> QHBoxLayout:
        self.train_button = QPushButton("Train")
        self.stop_button = QPushButton("Stop", enabled=False)
        self.defaults_button = QPushButton("Save as project defaults")
        self.defaults_button.setToolTip("write this form to specimask.toml: the CLI and the "
                                        "Active learning widget's rounds train with it")
        self.train_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.defaults_button.clicked.connect(self.save_defaults)
        buttons = QHBoxLayout()
        for b in (self.train_button, self.stop_button, self.defaults_button):
            buttons.addWidget(b)
        return buttons

    def _load_defaults(self, project) -> None:
        self.train_button.setEnabled(project is not None and self.worker is None)
        self.defaults_button.setEnabled(project is not None)
        if project is None:
            return
        self._training_changed(self.session.training)
        self.form.loggers["csv"].value = True

    def _training_changed(self, cfg) -> None:
        """The session's options changed (another project opened): show them."""
        if cfg is not None and cfg != self._form_base():
            with self.form.changed.blocked():
                self.form.set_values(cfg)
            self._describe()

    def _form_changed(self, *_) -> None:
        """A field was changed: the session trains with it from now on."""
        if self.session.project is not None:
            self.session.training = self._form_base()
            self._describe()

    def _form_base(self) -> TrainConfig | None:
        """The form's values as base options (no schedule), or None with no project."""
        if self.session.project is None:
            return None
        return TrainConfig.from_settings(self.session.project.settings, **self.form.values())

    def _describe(self) -> None:
        """What a run would do, before it starts: the schedule in numbers."""
        if self.worker is None and self.session.project is not None:
            note = self.config().schedule_note()
            self.state.setText(f"next run: {note}" if note else "")

    def form_config(self, **overrides) -> TrainConfig:
        """The form as a config: its values are the base ones, before the schedule."""
        form = {**self.form.values(), "init_from": self.start_from.value}
        return TrainConfig.from_settings(self.session.project.settings, **{**form, **overrides})

    def config(self, **overrides) -> TrainConfig:
        """What Train runs: the form (the session's options) plus this iteration's
        schedule, by the rule every run follows (``TrainConfig.from_settings``)."""
        return self.session.run_training(init_from=self.start_from.value, **overrides)

    def save_defaults(self) -> None:
        """The form becomes the project's training defaults (as `train --save-defaults`)."""
        project = self.session.project
        save_training_defaults(project, replace(self.form_config(), init_from=""))
        show_info(f"training defaults saved to {project.root / 'specimask.toml'}")

    def start(self, **overrides):
        project = self.session.project
        cfg = self.config(**overrides)  # read the form on the GUI thread
        parent = self.session.active_model
        self.stop_event = threading.Event()
        self.result = None
        self.listed = False
        self.plot.clear()
        self.dice_plot.clear()
        self.train_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        note = cfg.schedule_note()
        self.state.setText(f"starting: {cfg.img_size} px, up to {cfg.epochs} epochs"
                           + (f" ({note})" if note else ""))
        self.worker = start_job(
            owner=self, stop=self.stop_event,
            make_job=lambda: train_and_gate(project, cfg, self.activate_when.value,
                                            self.stop_event, parent),
            bar=self.bar, on_progress=self._progress, on_done=self._done,
            on_finished=self._finished)
        return self.worker

    def stop(self) -> None:
        if self.stop_event is not None:
            self.stop_event.set()
            self.state.setText("stopping after this step…")

    def _progress(self, p) -> None:
        if not self.listed:  # the first report: the new version is registered, list it
            self.listed = True
            self.models.refresh()
        self.state.setText(p.message)
        stage = getattr(p, "stage", None)  # judging the proposals reports plain Progress
        if stage == "train" and p.train_loss is not None:
            self.plot.add("train loss", p.step, p.train_loss)
        elif stage == "validate" and p.val_dice is not None:
            self.dice_plot.add("val Dice", p.epoch, p.val_dice)

    def _done(self, gated) -> None:
        self.result = result = gated.trained
        weights_note = result.metrics.get("weights_note")
        if weights_note:
            show_warning(weights_note)
        text = gated.summary
        held = result.metrics.get("held_out_for_val")
        if held:
            text = (f"held out {len(held)} verified image(s) for validation (role val); "
                    + text)
            self.session.images_changed.emit()
        self.state.setText(text)
        show_info(f"training finished: {text}")
        self.session.models_changed.emit()
        if gated.activated and self.session.active_model == result.version:
            self.refresh_queue_proposals(result.version)

    def refresh_queue_proposals(self, version: str):
        """New proposals for the queued images nobody has open (``refresh_unopened``)."""
        project = self.session.project

        def done(out):
            if not out:
                return
            self.state.setText(self.state.text() + f"; {len(out)} queued proposal(s) refreshed")
            self.session.images_changed.emit()

        self.refresh_worker = start_job(owner=self, make_job=lambda: refresh_unopened(
            project, version), on_done=done)
        return self.refresh_worker

    def _finished(self) -> None:
        self.worker = None
        self.stop_button.setEnabled(False)
        self.train_button.setEnabled(self.session.project is not None)
        self.models.refresh()  # also after an error: the version is 'failed', not 'training'

    def closeEvent(self, event):  # closing the widget stops its training
        self.stop()
        super().closeEvent(event)
