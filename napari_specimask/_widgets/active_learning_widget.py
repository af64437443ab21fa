"""Active-learning dock widget: choose and run the next-batch selection (or a whole round:
train, then select), see why and how past iterations went.

Scoring (TTA over the pool) runs in a worker thread; the chosen images then fill the
Annotate queue. The table shows each chosen image's score and its batch's score; the plot
shows corrected vs accepted per iteration and val Dice per model.
"""

from __future__ import annotations

import threading

from napari.utils.notifications import show_info
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
)

from napari_specimask.core.active.annotations import iteration_summary
from napari_specimask.core.active.queue import select_next
from napari_specimask.core.active.scoring import ModelScorer, ScoreSpec
from napari_specimask.core.inference.tta import MEASURES
from napari_specimask.core.loop.rounds import SelectionPlan, run_round
from napari_specimask.core.store.registry import list_models
from napari_specimask.core.vocabulary import STRATEGIES

from ._background import Serial
from ._dock import DockWidget
from ._jobs import start_job
from ._plots import LinePlot
from ._session import listen, session_for
from ._table import RowsModel, sortable


class ActiveLearningWidget(DockWidget):
    tab_name = "Active learning"

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.worker = None
        self.selection = None
        self.background = Serial(self)
        self.strategy = QComboBox()
        self.strategy.addItems(STRATEGIES)
        self.batch_size = QSpinBox(minimum=1, maximum=10_000)
        self.n_batches = QSpinBox(minimum=0, maximum=100_000, specialValueText="disjoint")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1)
        self.tta = QSpinBox(minimum=1, maximum=8)
        self.measure = QComboBox()
        self.measure.addItems(MEASURES)
        form = QFormLayout()
        for label, w in (("strategy", self.strategy), ("batch size", self.batch_size),
                         ("random batches", self.n_batches), ("seed", self.seed),
                         ("TTA views", self.tta), ("uncertainty", self.measure)):
            form.addRow(label, w)
        self.select_button = QPushButton("Select next batch")
        self.round_button = QPushButton("Train + select (one round)")
        self.round_button.setToolTip(
            "train a new model with the Train widget's form (the project's training "
            "defaults when that widget is not open) and this iteration's schedule, keep it "
            "if its val Dice is better, then select the next batch with these settings")
        self.stop_button = QPushButton("Stop", enabled=False)
        self.finetune = QCheckBox("rounds fine-tune the active model")
        self.finetune.setToolTip("start each round's training from the active model's weights "
                                 "(`specimask round --init-from active`)")
        self.stop_event: threading.Event | None = None
        buttons = QHBoxLayout()
        for b in (self.select_button, self.round_button, self.stop_button):
            buttons.addWidget(b)
        self.bar = QProgressBar()
        self.state = QLabel("")
        self.state.setWordWrap(True)
        self.model = RowsModel(("id", "image", "score", "batch score"), self)
        self.table = QTableView(sortingEnabled=True)
        self.table.setModel(sortable(self.model, self))
        self.table.verticalHeader().setVisible(False)
        self.history = LinePlot("iteration", "images", height=1.8, viewer=napari_viewer)
        self.dice_plot = LinePlot("model", "val Dice", height=1.8, viewer=napari_viewer)
        layout = QVBoxLayout(self.body)
        layout.addLayout(form)
        layout.addLayout(buttons)
        for w in (self.finetune, self.bar, self.state, self.table, self.history, self.dice_plot):
            layout.addWidget(w)
        self.select_button.clicked.connect(self.select)
        self.round_button.clicked.connect(self.run_round)
        self.stop_button.clicked.connect(self.stop)
        listen(self, self.session.events.project, self._load_defaults)
        listen(self, self.session.images_changed, self.refresh_history)
        listen(self, self.session.models_changed, self.refresh_history)
        self._load_defaults(self.session.project)

    def _load_defaults(self, project) -> None:
        self.select_button.setEnabled(project is not None)
        self.round_button.setEnabled(project is not None)
        if project is None:
            return
        s = project.settings.selection
        self.strategy.setCurrentText(s.strategy)
        self.batch_size.setValue(s.batch_size)
        self.n_batches.setValue(s.n_batches)
        self.seed.setValue(s.seed)
        self.tta.setValue(s.tta)
        self.measure.setCurrentText(s.measure)
        self.refresh_history()

    def plan(self) -> SelectionPlan:
        """The form's selection settings (read on the GUI thread)."""
        sel = self.session.project.settings.selection
        return SelectionPlan(self.strategy.currentText(), self.batch_size.value(),
                             self.n_batches.value() or None, self.seed.value(),
                             sel.aggregation, ScoreSpec(self.measure.currentText(),
                                                        self.tta.value(), tuple(sel.photometric),
                                                        precision=sel.precision))

    def select(self):
        project, plan, version = self.session.project, self.plan(), self.session.active_model
        self.stop_event = stop = threading.Event()

        def job():  # runs in the worker: loading the model and TTA stay off the GUI
            scorer = ModelScorer(project, version, plan.spec) if version else None
            return (yield from select_next(project, plan.strategy, plan.batch_size,
                                           n_batches=plan.n_batches, seed=plan.seed,
                                           aggregation=plan.aggregation, scorer=scorer,
                                           stop=stop, fallback=True))

        self._busy("scoring…" if version else "drawing a random batch…")
        self.worker = start_job(
            owner=self, stop=stop, make_job=job, bar=self.bar, on_done=self._done,
            on_finished=self._finished)
        return self.worker

    def _done(self, selection) -> None:
        self.selection = selection
        project = self.session.project
        names = {r.id: r.relpath for r in project.images_by_id([i for i, _ in selection.chosen])}
        self.model.set_rows([(i, names.get(i, ""), s, selection.batch_score)
                             for i, s in selection.chosen])
        self.table.resizeColumnsToContents()
        scored = f", {selection.n_scored} scored" if selection.n_scored else ""
        self.state.setText(f"iteration {selection.iteration}: {len(selection.chosen)} images "
                           f"queued by {selection.strategy} from {selection.n_candidates} "
                           f"candidates{scored}"
                           + (f" ({selection.note})" if selection.note else ""))
        self.session.images_changed.emit()
        self.session.set_queue([i for i, _ in selection.chosen])
        self.refresh_history()

    def run_round(self):
        """Train, keep the better model, then select with this form's settings."""
        project, plan = self.session.project, self.plan()
        finetune = self.finetune.isChecked() and self.session.active_model is not None
        cfg = self.session.run_training(init_from="active" if finetune else "")
        self.stop_event = threading.Event()
        stop = self.stop_event
        self._busy(f"training {cfg.arch} at {cfg.img_size} px for up to {cfg.epochs} epochs…")
        self.worker = start_job(
            owner=self, stop=stop, make_job=lambda: run_round(project, cfg, plan, "better", stop),
            bar=self.bar, on_progress=lambda p: self.state.setText(p.message),
            on_done=self._round_done, on_finished=self._finished)
        return self.worker

    def _round_done(self, result) -> None:
        text = (f"{result.verdict.reason if result.verdict else result.trained.status}; "
                f"{'activated' if result.activated else 'kept the current proposals'}")
        show_info(f"round: {text}")
        self.session.models_changed.emit()
        if result.selection is None:
            self.state.setText(text + "; stopped before selecting")
            return
        self._done(result.selection)
        self.state.setText(text + "; " + self.state.text())

    def stop(self) -> None:
        if self.stop_event is not None:
            self.stop_event.set()
            self.state.setText("stopping after this step…")

    def _busy(self, text: str) -> None:
        self.select_button.setEnabled(False)
        self.round_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.state.setText(text)

    def _finished(self) -> None:
        self.worker = None
        self.stop_event = None
        self.select_button.setEnabled(self.session.project is not None)
        self.round_button.setEnabled(self.session.project is not None)
        self.stop_button.setEnabled(False)

    def closeEvent(self, event):  # closing the widget stops its round
        self.stop()
        self.background.flush()
        super().closeEvent(event)

    def refresh_history(self, *_) -> None:
        """Redraw the plots from the store, read in the background (every iteration's
        tally: too many queries to run on the GUI thread after every save)."""
        project = self.session.project
        if project is None:
            return

        def read():
            if project is not self.session.project:
                return None  # switched meanwhile: its plots are not wanted
            # x: each version's place in the registry (creation order), not its name
            models = [(n, m["metrics"]["best_val_dice"])
                      for n, m in enumerate(list_models(project), start=1)
                      if m["metrics"].get("best_val_dice")]
            return iteration_summary(project), models

        self.background.run(read, on_done=self._show_history)

    def _show_history(self, read) -> None:
        if read is None or read == getattr(self, "_history", None):
            return  # nothing new to draw (most saves change no tally's plot)
        self._history = read
        rows, models = read
        self.history.series = {}
        self.history.set("corrected", [r["iteration"] for r in rows],
                         [r["corrected"] for r in rows])
        self.history.set("accepted", [r["iteration"] for r in rows],
                         [r["accepted"] for r in rows])
        self.dice_plot.set("val Dice", [n for n, _ in models], [d for _, d in models])
