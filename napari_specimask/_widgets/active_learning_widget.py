"""Active-learning dock widget: choose and run the next-batch selection, see why and how
past iterations went.

Scoring (TTA over the pool) runs in a worker thread; the chosen images then fill the
Annotate queue. The table shows each chosen image's score and its batch's score; the plot
shows corrected vs accepted per iteration and val Dice per model.
"""

from __future__ import annotations

from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from napari_specimask.core.annotations import iteration_summary
from napari_specimask.core.checkpoints import list_models
from napari_specimask.core.scoring import ModelScorer, ScoreSpec
from napari_specimask.core.selection import STRATEGIES, select_next
from napari_specimask.core.tta import MEASURES

from ._jobs import start_job
from ._plots import LinePlot
from ._session import session_for
from ._table import RowsModel, sortable


class ActiveLearningWidget(QWidget):
    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.worker = None
        self.selection = None
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
        self.bar = QProgressBar()
        self.state = QLabel("")
        self.state.setWordWrap(True)
        self.model = RowsModel(("id", "image", "score", "batch score"), self)
        self.table = QTableView(sortingEnabled=True)
        self.table.setModel(sortable(self.model, self))
        self.table.verticalHeader().setVisible(False)
        self.history = LinePlot("iteration", "images", height=1.8)
        self.dice_plot = LinePlot("model", "val Dice", height=1.8)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        for w in (self.select_button, self.bar, self.state, self.table, self.history,
                  self.dice_plot):
            layout.addWidget(w)
        self.select_button.clicked.connect(self.select)
        self.session.project_changed.connect(self._load_defaults)
        self.session.images_changed.connect(self.refresh_history)
        self.session.models_changed.connect(self.refresh_history)
        self._load_defaults(self.session.project)

    def _load_defaults(self, project) -> None:
        self.select_button.setEnabled(project is not None)
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

    def select(self):
        project = self.session.project
        strategy, batch, n_batches = (self.strategy.currentText(), self.batch_size.value(),
                                      self.n_batches.value() or None)
        seed, version = self.seed.value(), self.session.active_model
        spec = ScoreSpec(self.measure.currentText(), self.tta.value(),
                         precision=project.settings.selection.precision)

        def job():  # runs in the worker: loading the model and TTA stay off the GUI
            scorer = ModelScorer(project, version, spec) if version else None
            return (yield from select_next(project, strategy, batch, n_batches=n_batches,
                                           seed=seed, scorer=scorer))

        self.select_button.setEnabled(False)
        self.state.setText("scoring…" if version else "drawing a random batch…")
        self.worker = start_job(
            owner=self, make_job=job, bar=self.bar, on_done=self._done,
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
                           f"candidates{scored}")
        self.session.images_changed.emit()
        self.session.set_queue([i for i, _ in selection.chosen])
        self.refresh_history()

    def _finished(self) -> None:
        self.worker = None
        self.select_button.setEnabled(self.session.project is not None)

    def refresh_history(self, *_) -> None:
        project = self.session.project
        if project is None:
            return
        rows = iteration_summary(project)
        self.history.series = {}
        self.history.set("corrected", [r["iteration"] for r in rows],
                         [r["corrected"] for r in rows])
        self.history.set("accepted", [r["iteration"] for r in rows],
                         [r["accepted"] for r in rows])
        models = [m for m in list_models(project) if m["metrics"].get("best_val_dice")]
        self.dice_plot.set("val Dice", [int(m["version"][1:]) for m in models],
                           [m["metrics"]["best_val_dice"] for m in models])
