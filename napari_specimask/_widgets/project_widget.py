"""Project dock widget: create or open a project, add images (with cold-start proposals),
choose the cold-start method (``coldstart_picker``), browse the image table."""

from __future__ import annotations

from pathlib import Path

from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import Qt, QTimer
from qtpy.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
)

from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.exchange.add_images import AddReport, add_images
from napari_specimask.core.store.overview import COLUMNS
from napari_specimask.core.vocabulary import Status

from ._background import Serial
from ._dock import DockWidget
from ._image_table import ImageTableModel
from ._jobs import start_job
from ._session import listen, session_for

FILTER_DELAY_MS = 200  # a pause in typing before the filter runs (1M rows: ~0.5 s)


class ProjectWidget(DockWidget):
    tab_name = "Project"

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.background = Serial(self)  # the title's counts, read off the GUI thread
        self.note = ""  # what the last import said
        self.title = QLabel("No project open")
        self.new_button = QPushButton("New project…")
        self.open_button = QPushButton("Open project…")
        self.add_button = QPushButton("Add images…")
        self.coldstart_button = QPushButton("Cold start…")
        self.coldstart_button.setToolTip("preview the cold-start methods on this project's "
                                         "images and apply one to all")
        self.picker = None
        self.filter = QLineEdit(placeholderText="filter: words of a name, a role, a status…")
        self.progress = QProgressBar(visible=False)
        self.model = ImageTableModel(self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)  # oldest first
        self._fit_columns()
        self.model.busy.connect(self._show_busy)
        self.typing = QTimer(self, singleShot=True, interval=FILTER_DELAY_MS)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().setVisible(False)
        buttons = QHBoxLayout()
        for b in (self.new_button, self.open_button, self.add_button, self.coldstart_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self.body)
        for w in (self.title,):
            layout.addWidget(w)
        layout.addLayout(buttons)
        for w in (self.filter, self.progress, self.table):
            layout.addWidget(w)
        self.new_button.clicked.connect(self._ask_new)
        self.open_button.clicked.connect(self._ask_open)
        self.add_button.clicked.connect(self._ask_add)
        self.coldstart_button.clicked.connect(self.open_picker)
        self.filter.textChanged.connect(self.typing.start)  # filter once typing pauses
        self.typing.timeout.connect(lambda: self.model.set_text(self.filter.text()))
        self.table.doubleClicked.connect(self._open_row)
        listen(self, self.session.events.project, self.refresh)
        listen(self, self.session.images_changed, self.refresh)
        listen(self, self.session.models_changed, self.refresh)
        self.refresh()

    # -- actions (the buttons ask for paths, these do the work; tests call them) ------

    def open_project(self, root: str | Path) -> None:
        """Open a project (the canvas's edits are settled into their own project first;
        nothing changes if the person cancels)."""
        try:
            self.session.open(root)
        except SpecimaskError as exc:
            show_error(str(exc))

    def new_project(self, root: str | Path, images: str | Path | None = None) -> None:
        """Create the project (its folder too) and add the images, if given."""
        try:
            project = self.session.create(root)
        except SpecimaskError as exc:
            show_error(str(exc))
            return
        if project is not None and images:
            self.add_folder(images)

    def add_folder(self, folder: str | Path):
        project = self.session.project
        self.progress.setVisible(True)

        def done(result: AddReport):
            report, method, choice = result.imported, result.method, result.choice
            self.progress.setVisible(False)
            skipped = f", skipped {len(report.skipped)}" if report.skipped else ""
            self.note = (f"added {len(report.added)} with '{method}' cold-start "
                         f"proposals{skipped}")
            self.title.setText(f"{self._name()}: {self.note}")
            self.session.images_changed.emit()
            if report.added and not self.session.queue and self.session.canvas is None:
                self.session.show_requested.emit(report.added[0])  # something to look at
            if choice is not None:  # the first images: say which method and why
                show_info(f"cold start for this project: {choice.reason} "
                          "(Cold start… to compare the methods yourself)")

        return start_job(owner=self, make_job=lambda: add_images(project, folder),
                         bar=self.progress, on_done=done,
                         on_error=lambda e: self.progress.setVisible(False),
                         label="specimask: importing and cold start")

    def refresh(self, *_):
        project = self.session.project
        self.add_button.setEnabled(project is not None)
        self.coldstart_button.setEnabled(project is not None)
        if project is None:
            self.title.setText("No project open")
            self.model.set_project(None)
            return
        if project is not self.model.project:
            self.note = ""  # what an import said was about another project
        self.model.set_project(project)

        def counts():  # one grouped pass, but over a million rows: not on the GUI thread
            return project.summary() if project is self.session.project else None

        self.background.run(counts, on_done=lambda s: self._show_counts(project, s))

    def _show_counts(self, project, s: dict | None) -> None:
        if s is None or project is not self.session.project:
            return
        self.title.setText(f"{self._name()}: {s['images']:,} images, "
                           f"{s['by_status']['labeled']:,} labelled, "
                           f"{s['by_status']['queued']:,} queued, "
                           f"model {s['active_model'] or '-'}"
                           + (f"; {self.note}" if self.note else ""))

    def _show_busy(self, busy: bool) -> None:
        """A busy cursor over the table while its order is read (seconds on 1M rows)."""
        if busy:
            self.table.setCursor(Qt.CursorShape.BusyCursor)
        else:
            self.table.unsetCursor()

    def closeEvent(self, event):
        self.model.close()
        self.background.flush()
        super().closeEvent(event)

    def _fit_columns(self) -> None:
        """Widths from the longest text each column can hold: Qt's resize-to-contents
        reads every row of a hidden table (a million, from SQLite)."""
        fit = self.table.fontMetrics().horizontalAdvance
        samples = {"id": "0000000", "image": "images/herbarium_000000.jpg", "role": "source",
                   "status": Status.UNLABELED, "score": "0.0000", "model": "v000"}
        for name, text in samples.items():
            self.table.setColumnWidth(COLUMNS.index(name), fit(text) + 24)

    def open_picker(self):
        """The cold-start picker for the open project (one at a time)."""
        from ._coldstart_picker import ColdStartPicker

        if self.picker is not None:
            self.picker.close()
        self.picker = ColdStartPicker(self.session, self)
        self.picker.show()
        return self.picker

    def _name(self) -> str:
        return self.session.project.settings.name if self.session.project else ""

    def _open_row(self, index) -> None:
        image_id = self.model.image_id(index.row())
        self.session.show_requested.emit(image_id)

    def _ask_new(self):
        # a save dialog: the person types the name of a folder that does not exist yet
        root, _ = QFileDialog.getSaveFileName(
            self, "New project: type its folder's name", "", "",
            options=QFileDialog.Option.DontConfirmOverwrite)
        if root:
            images = QFileDialog.getExistingDirectory(self, "Folder of images to add")
            self.new_project(root, images or None)

    def _ask_open(self):
        root = QFileDialog.getExistingDirectory(self, "Project folder")
        if root:
            self.open_project(root)

    def _ask_add(self):
        folder = QFileDialog.getExistingDirectory(self, "Folder of images")
        if folder:
            self.add_folder(folder)
