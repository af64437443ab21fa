"""Train dock widget: the training settings as a form, Train / Stop, live progress, and
the model versions (activate one, free disk).

Training runs in a worker thread (``core.training.train_job``) while the person keeps
annotating; Stop sets the core stop event, which ends training after the current step
with a usable model. Errors, out-of-memory included, arrive as notifications.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from napari.utils.notifications import show_info
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from napari_specimask.core.active.scoring import ModelScorer, ScoreSpec
from napari_specimask.core.active.selection import refresh_proposals
from napari_specimask.core.model.factory import ARCHS
from napari_specimask.core.model.losses import LOSSES
from napari_specimask.core.model.weights import activate, compare_with_parent
from napari_specimask.core.settings import save_training_defaults
from napari_specimask.core.training.augment import PRESETS
from napari_specimask.core.training.fit import LOGGERS, TrainConfig, train_job
from napari_specimask.core.vocabulary import ACTIVATE_WHEN

from ._jobs import start_job
from ._plots import LinePlot
from ._session import session_for
from .models_panel import ModelsPanel

ACTIVATE = ("if val Dice is better", "always", "never")  # labels of ACTIVATE_WHEN
START_FROM = ("encoder weights", "active model (fine-tune)")


class TrainWidget(QWidget):
    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.worker = None
        self.refresh_worker = None
        self.stop_event: threading.Event | None = None
        self.result = None
        self.listed = False  # the version being trained is in the model table
        self.arch = QComboBox()
        self.arch.addItems(ARCHS)
        self.weights = QComboBox(editable=True)
        self.weights.addItems(["imagenet", "none"])
        self.img_size = QSpinBox(minimum=32, maximum=4096, singleStep=32)
        self.epochs = QSpinBox(minimum=1, maximum=10_000)
        self.batch = QSpinBox(minimum=1, maximum=1024)
        self.lr = QDoubleSpinBox(decimals=6, minimum=1e-6, maximum=1.0, singleStep=1e-4)
        self.loss = QComboBox()
        self.loss.addItems(LOSSES)
        self.augment = QComboBox()
        self.augment.addItems(PRESETS)
        self.two_stage = QCheckBox("two-stage (frozen encoder first)")
        self.use_pseudo = QCheckBox("also train on cold-start masks")
        self.activate_when = QComboBox()
        self.activate_when.addItems(ACTIVATE)
        self.start_from = QComboBox()
        self.start_from.addItems(START_FROM)
        self.loggers = {name: QCheckBox(name) for name in LOGGERS}
        self.loggers["csv"].setEnabled(False)  # always written: the metrics file of a model
        self.loggers["csv"].setToolTip("always written to models/VERSION/metrics.csv")
        self.loggers["tensorboard"].setToolTip("models/VERSION/tensorboard; needs tensorboard")
        self.loggers["wandb"].setToolTip("Weights & Biases project 'specimask'; needs wandb "
                                         "and a login (`wandb login`)")
        logger_row = QHBoxLayout()
        for box in self.loggers.values():
            logger_row.addWidget(box)
        form = QFormLayout()
        for label, w in (("architecture", self.arch), ("encoder weights", self.weights),
                         ("image size", self.img_size), ("epochs", self.epochs),
                         ("batch size", self.batch), ("learning rate", self.lr),
                         ("loss", self.loss), ("augmentation", self.augment),
                         ("start from", self.start_from),
                         ("activate new model", self.activate_when)):
            form.addRow(label, w)
        form.addRow("experiment logs", logger_row)
        self.train_button = QPushButton("Train")
        self.stop_button = QPushButton("Stop", enabled=False)
        self.defaults_button = QPushButton("Save as project defaults")
        self.defaults_button.setToolTip("write this form to specimask.toml: the CLI and the "
                                        "Active learning widget's rounds train with it")
        buttons = QHBoxLayout()
        buttons.addWidget(self.train_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.defaults_button)
        self.bar = QProgressBar()
        self.state = QLabel("")
        self.state.setWordWrap(True)
        self.plot = LinePlot("step", "loss, Dice")
        self.models = ModelsPanel(self.session, self)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        for w in (self.two_stage, self.use_pseudo):
            layout.addWidget(w)
        layout.addLayout(buttons)
        for w in (self.bar, self.state, self.plot, self.models):
            layout.addWidget(w)
        self.train_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.defaults_button.clicked.connect(self.save_defaults)
        self.session.project_changed.connect(self._load_defaults)
        self.session.set_training_form(self.docked_config)  # rounds train with this form
        self._load_defaults(self.session.project)

    def _load_defaults(self, project) -> None:
        self.train_button.setEnabled(project is not None and self.worker is None)
        self.defaults_button.setEnabled(project is not None)
        if project is None:
            return
        m, t = project.settings.model, project.settings.train
        self.arch.setCurrentText(m.arch)
        self.weights.setCurrentText(m.encoder_weights)
        self.img_size.setValue(m.img_size)
        self.epochs.setValue(t.epochs)
        self.batch.setValue(t.batch_size)
        self.lr.setValue(t.lr)
        self.loss.setCurrentText(t.loss)
        self.augment.setCurrentText(t.augment)
        self.two_stage.setChecked(t.two_stage)
        self.use_pseudo.setChecked(t.use_pseudo)
        for name, box in self.loggers.items():
            box.setChecked(name == "csv" or name in t.loggers)

    def form_config(self, **overrides) -> TrainConfig:
        """The form as a config: its values are the base ones, before the schedule."""
        form = dict(
            arch=self.arch.currentText(), encoder_weights=self.weights.currentText(),
            img_size=self.img_size.value(), epochs=self.epochs.value(),
            batch_size=self.batch.value(), lr=self.lr.value(), loss=self.loss.currentText(),
            augment=self.augment.currentText(), two_stage=self.two_stage.isChecked(),
            use_pseudo=self.use_pseudo.isChecked(),
            loggers=[n for n, box in self.loggers.items() if box.isChecked()],
            init_from="active" if self.start_from.currentIndex() == 1 else "")
        return TrainConfig.from_settings(self.session.project.settings, **{**form, **overrides})

    def config(self, **overrides) -> TrainConfig:
        """What Train runs: the form plus this iteration's schedule (+epochs, +px), as
        `specimask train` adds it to the project's defaults."""
        project = self.session.project
        return self.form_config(**overrides).scheduled(project.summary()["iteration"])

    def docked_config(self, **overrides) -> TrainConfig | None:
        """``config`` while this widget is docked in a viewer; None once its dock was
        closed (napari then only unparents it, so it may live on unseen)."""
        try:
            docked = self.parent() is not None
        except RuntimeError:  # the Qt side is already deleted
            return None
        return self.config(**overrides) if docked else None

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
        self.train_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.state.setText(f"starting: {cfg.img_size} px, up to {cfg.epochs} epochs"
                           + (f" (iteration {cfg.iteration} schedule)" if cfg.iteration else ""))
        self.worker = start_job(
            owner=self, make_job=lambda: train_job(project, cfg, self.stop_event, parent),
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
        if p.stage == "train" and p.train_loss is not None:
            self.plot.add("train loss", p.step, p.train_loss)
        elif p.stage == "validate" and p.val_dice is not None:
            self.plot.add("val Dice", p.step, p.val_dice)

    def _done(self, result) -> None:
        self.result = result
        project = self.session.project
        c = compare_with_parent(project, result.version)
        text = c.describe(result.status)
        if c.should_activate(ACTIVATE_WHEN[self.activate_when.currentIndex()]):
            activate(project, result.version)
            text += f"; {result.version} is now active"
        self.state.setText(text)
        show_info(f"training finished: {text}")
        self.session.models_changed.emit()
        if self.session.active_model == result.version:
            self.refresh_queue_proposals(result.version)

    def refresh_queue_proposals(self, version: str):
        """New proposals for the queued images the person has not reached yet."""
        project = self.session.project
        current = getattr(self.session, "current_image", None)
        ids = [i for i in self.session.queue
               if i != current and project.image(i).status == "queued"]
        if not ids:
            return None
        spec = ScoreSpec(tta=project.settings.selection.tta,
                         precision=project.settings.selection.precision)

        def job():
            scorer = ModelScorer(project, version, spec)
            return (yield from refresh_proposals(project, ids, scorer))

        def done(out):
            self.state.setText(self.state.text() + f"; {len(out)} queued proposal(s) refreshed")
            self.session.images_changed.emit()

        self.refresh_worker = start_job(owner=self, make_job=job, on_done=done)
        return self.refresh_worker

    def _finished(self) -> None:
        self.worker = None
        self.stop_button.setEnabled(False)
        self.train_button.setEnabled(self.session.project is not None)
        self.models.refresh()  # also after an error: the version is 'failed', not 'training'

    def closeEvent(self, event):  # closing the widget stops its training
        self.stop()
        super().closeEvent(event)
