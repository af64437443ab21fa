"""Import / export dock widget: masks made elsewhere in, masks and tables out.

The same core jobs as ``specimask import-masks``, ``import-labelstudio`` and ``export``,
run in a worker with a progress bar; the buttons ask for paths, the methods below do
the work (tests call them).
"""

from __future__ import annotations

from pathlib import Path

from napari.utils.notifications import show_info
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
)

from napari_specimask.core.exchange.export import (
    BACKGROUNDS,
    DEFAULT_FILES,
    EXPORT_FORMATS,
    WHICH,
    export,
)
from napari_specimask.core.exchange.labelstudio_import import import_labelstudio
from napari_specimask.core.exchange.mask_import import import_mask_folder
from napari_specimask.core.io.naming import rename_note
from napari_specimask.core.vocabulary import COLD_START

from ._dock import DockWidget
from ._jobs import start_job
from ._session import listen, session_for

IMPORT_AS = {"verified masks (origin imported)": "labels",
             "proposals to correct (cold start)": COLD_START}


class ExchangeWidget(DockWidget):
    tab_name = "Import / export"

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.worker = None
        self.report = None
        self.import_as = QComboBox()
        self.import_as.addItems(IMPORT_AS)
        self.folder_button = QPushButton("Mask folder…")
        self.labelstudio_button = QPushButton("Label Studio JSON…")
        self.format = QComboBox()
        self.format.addItems(EXPORT_FORMATS)
        self.which = QComboBox()
        self.which.addItems(WHICH)
        self.background = QComboBox()
        self.background.addItems(BACKGROUNDS)
        self.crop = QCheckBox("crop to the specimen")
        self.export_button = QPushButton("Export…")
        self.bar = QProgressBar()
        self.state = QLabel("")
        self.state.setWordWrap(True)

        into = QGroupBox("Import masks")
        form = QFormLayout(into)
        form.addRow("as", self.import_as)
        row = QHBoxLayout()
        row.addWidget(self.folder_button)
        row.addWidget(self.labelstudio_button)
        form.addRow(row)
        out = QGroupBox("Export")
        form = QFormLayout(out)
        form.addRow("format", self.format)
        form.addRow("masks", self.which)
        form.addRow("cut-out background", self.background)
        form.addRow(self.crop)
        form.addRow(self.export_button)
        layout = QVBoxLayout(self.body)
        for w in (into, out, self.bar, self.state):
            layout.addWidget(w)
        layout.addStretch()

        self.folder_button.clicked.connect(self._ask_folder)
        self.labelstudio_button.clicked.connect(self._ask_labelstudio)
        self.export_button.clicked.connect(self._ask_export)
        self.format.currentTextChanged.connect(self._format_changed)
        listen(self, self.session.events.project, self._project_changed)
        self._project_changed(self.session.project)
        self._format_changed(self.format.currentText())

    # -- actions (tests call these) --------------------------------------------------

    def import_folder(self, folder: str | Path):
        project, as_ = self.session.project, IMPORT_AS[self.import_as.currentText()]
        return self._run(lambda: import_mask_folder(project, folder, as_), self._imported)

    def import_labelstudio(self, path: str | Path):
        project, as_ = self.session.project, IMPORT_AS[self.import_as.currentText()]
        return self._run(lambda: import_labelstudio(project, path, as_=as_), self._imported)

    def export_to(self, out: str | Path):
        project, fmt, which = (self.session.project, self.format.currentText(),
                               self.which.currentText())
        cutout = ({"background": self.background.currentText(), "crop": self.crop.isChecked()}
                  if fmt == "cutout" else {})
        return self._run(lambda: export(project, out, fmt, which, **cutout), self._exported)

    # -- plumbing --------------------------------------------------------------------

    def _run(self, make_job, on_done):
        self.report = None
        self._enable(False)
        self.state.setText("working…")
        self.worker = start_job(owner=self, make_job=make_job, bar=self.bar, on_done=on_done,
                                on_error=lambda _e: self.state.setText("failed; see the "
                                                                       "notification"),
                                on_finished=self._finished)
        return self.worker

    def _imported(self, report) -> None:
        self.report = report
        text = (f"imported {len(report.imported)} mask(s); {len(report.without_mask)} "
                f"image(s) without one; {len(report.unmatched)} of no project image; "
                f"skipped {len(report.skipped)}")
        if report.skipped:
            first = report.skipped[0]
            text += f" (first: {Path(first.path).name}: {first.reason})"
        self.state.setText(text)
        show_info(text)
        self.session.images_changed.emit()

    def _exported(self, report) -> None:
        self.report = report
        where = report.written[0].parent if len(report.written) > 1 else (
            report.written[0] if report.written else "nothing")
        text = (f"wrote {len(report.written)} file(s) to {where}; {report.without_mask} "
                "image(s) without a mask")
        if report.renamed:
            text += f"; {rename_note(report.renamed)}"
        self.state.setText(text)
        show_info(text)

    def _finished(self) -> None:
        self.worker = None
        self._enable(self.session.project is not None)

    def _enable(self, on: bool) -> None:
        for b in (self.folder_button, self.labelstudio_button, self.export_button):
            b.setEnabled(on)

    def _project_changed(self, project) -> None:
        self._enable(project is not None and self.worker is None)

    def _format_changed(self, fmt: str) -> None:
        self.background.setEnabled(fmt == "cutout")
        self.crop.setEnabled(fmt == "cutout")

    def _ask_folder(self):
        folder = QFileDialog.getExistingDirectory(self, "Folder of masks named like the images")
        if folder:
            self.import_folder(folder)

    def _ask_labelstudio(self):
        path, _ = QFileDialog.getOpenFileName(self, "Label Studio JSON export", "",
                                              "JSON (*.json)")
        if path:
            self.import_labelstudio(path)

    def _ask_export(self):
        fmt = self.format.currentText()
        if fmt in DEFAULT_FILES:
            out, _ = QFileDialog.getSaveFileName(self, f"Export {fmt}", DEFAULT_FILES[fmt])
        else:
            out = QFileDialog.getExistingDirectory(self, "Folder to export into")
        if out:
            self.export_to(out)
