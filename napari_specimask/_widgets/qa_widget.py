"""QA dock widget: per-image Dice / IoU of a model version, worst first; a row shows the
image with true positives, false positives and false negatives in distinct colours, and
optionally a second version's errors beside it for comparison."""

from __future__ import annotations

from qtpy.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from napari_specimask.core.inference.cache import cached_prediction, compute_predictions
from napari_specimask.core.inference.qa import FN, FP, SPLITS, TP, error_map, evaluate_version
from napari_specimask.core.io.images import to_rgb8
from napari_specimask.core.store.registry import list_models

from ._jobs import start_job
from ._layers import put_image, put_labels
from ._session import session_for
from ._table import RowsModel, sortable

ERROR_COLOURS = {0: "transparent", TP: "lime", FP: "red", FN: "dodgerblue"}
NONE = "(none)"


class QAWidget(QWidget):
    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.worker = None
        self.rows = []
        self.rows_version: str | None = None  # the version the table was evaluated with
        self.version = QComboBox()
        self.compare = QComboBox()
        self.split = QComboBox()
        self.split.addItems(SPLITS)
        form = QFormLayout()
        form.addRow("model", self.version)
        form.addRow("compare with", self.compare)
        form.addRow("images", self.split)
        self.run_button = QPushButton("Evaluate")
        self.bar = QProgressBar()
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.legend = QLabel("<span style='color:lime'>■</span> true positive  "
                             "<span style='color:red'>■</span> false positive  "
                             "<span style='color:dodgerblue'>■</span> false negative")
        self.model = RowsModel(("id", "image", "role", "dice", "iou", "FP", "FN"), self)
        self.proxy = sortable(self.model, self)
        self.table = QTableView(sortingEnabled=True)
        self.table.setModel(self.proxy)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        for w in (self.run_button, self.bar, self.summary, self.legend, self.table):
            layout.addWidget(w)
        self.run_button.clicked.connect(self.evaluate)
        self.table.clicked.connect(lambda index: self.show_row(index.row()))
        self.session.project_changed.connect(self._load_models)
        self.session.models_changed.connect(self._load_models)
        self._load_models()

    def _load_models(self, *_):
        project = self.session.project
        versions = [m["version"] for m in list_models(project)
                    if m["status"] in ("ready", "stopped") and not m["removed"]] if project else []
        for box, extra in ((self.version, []), (self.compare, [NONE])):
            current = box.currentData()  # the version (None for "(none)"), not its text
            box.clear()
            for version in extra + versions:
                box.addItem(version, None if version == NONE else version)
            box.setCurrentIndex(max(0, box.findData(current)))
        if self.rows_version is not None and self.rows_version not in versions:
            self.summary.setText(f"{self.rows_version} is gone (removed, or another project); "
                                 "evaluate a version")
            self.rows, self.rows_version = [], None
            self.model.set_rows([])
        if self.session.active_model in versions and not self.rows:
            self.version.setCurrentIndex(self.version.findData(self.session.active_model))
        self.run_button.setEnabled(bool(versions))

    def evaluate(self):
        project, version, split = (self.session.project, self.version.currentData(),
                                   self.split.currentText())
        self.run_button.setEnabled(False)

        def done(rows):
            self.rows, self.rows_version = rows, version
            self.model.set_rows([(r.image_id, r.name, r.role, r.dice, r.iou,
                                  r.false_positive, r.false_negative) for r in rows])
            self.table.resizeColumnsToContents()
            if rows:
                mean = sum(r.dice for r in rows) / len(rows)
                self.summary.setText(f"{version} on {len(rows)} {split} image(s): mean Dice "
                                     f"{mean:.4f}; worst {rows[0].name} ({rows[0].dice:.4f})")
            else:
                self.summary.setText(f"no labelled {split} images to evaluate")

        self.worker = start_job(
            owner=self, make_job=lambda: evaluate_version(project, version, split),
            bar=self.bar, on_done=done, on_finished=self._finished)
        return self.worker

    def _finished(self):
        self.worker = None
        self.run_button.setEnabled(True)

    def show_row(self, proxy_row: int):
        image_id = int(self.proxy.index(proxy_row, 0).data())
        project = self.session.project
        record = project.image(image_id)
        image = to_rgb8(project.read_image(record))
        truth = project.load_mask(image_id)
        version = self.rows_version or self.version.currentData()
        other = self.compare.currentData()
        pred = cached_prediction(project, version, image_id, 1)
        if pred is None:  # its cached maps were deleted: predict the image again first
            self.worker = start_job(
                owner=self, make_job=lambda: compute_predictions(project, version, [image_id], 1),
                on_done=lambda _n: self.show_row(proxy_row), on_finished=self._finished)
            return
        put_image(self.viewer, "qa image", image, rgb=True)
        put_labels(self.viewer, f"errors {version}", error_map(pred.mask, truth),
                   ERROR_COLOURS, opacity=0.6)
        for layer in [ly for ly in self.viewer.layers if ly.name.startswith("errors ")]:
            if layer.name != f"errors {version}":  # a comparison is drawn fresh below
                self.viewer.layers.remove(layer)
        if other is not None:  # the second version's errors to the right of the first
            shift = (0, record.width * 1.05)
            put_image(self.viewer, "qa image (compare)", image, rgb=True, translate=shift)
            self.worker = start_job(
                owner=self, make_job=
                lambda: compute_predictions(project, other, [image_id], 1),
                on_done=lambda _n: self._compare_layer(image_id, other, truth, shift),
                on_finished=self._finished)
        self.viewer.reset_view()

    def _compare_layer(self, image_id, other, truth, shift):
        pred = cached_prediction(self.session.project, other, image_id, 1)
        layer = put_labels(self.viewer, f"errors {other}", error_map(pred.mask, truth),
                           ERROR_COLOURS, opacity=0.6)
        layer.translate = shift

