"""The project's model versions inside the Train widget: activate one, or free disk.

A person who kept the previous model after training (its val Dice was better) can still
choose the new one here; versions they no longer need give back their ~100 MB each
(a grid search leaves one per combination). Removal runs in a worker: a cache of
predictions at original size can hold thousands of files.
"""

from __future__ import annotations

from napari.utils.notifications import show_info
from qtpy.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from napari_specimask.core.model.removal import remove_versions, weights_bytes
from napari_specimask.core.store.registry import activate, list_models
from napari_specimask.core.store.verdicts import GATE_KEY

from ._jobs import start_job
from ._session import listen
from ._table import RowsModel, sortable

# what decides (the two Dice, disk) first; the narrow dock shows these without scrolling
COLUMNS = ("version", "status", "val Dice", "shown Dice", "weights MB", "px", "model",
           "images", "parent")
# the two figures differ by what they measure: the same held-out masks, seen two ways
TIPS = {
    "val Dice": "training's own measure, to pick the best epoch: the network's output at "
                "its input size (the sheet letterboxed to 'px'), one view, on the val images",
    "shown Dice": "the gate's measure, what decides activation: the proposals as Annotate "
                  "shows them (TTA mean >= 0.5, mapped back to each sheet's full size) on "
                  "the held-out verified masks (TTA and full size are why it differs "
                  "from val Dice)",
}
FINISHED = ("ready", "stopped")


class ModelsPanel(QWidget):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.worker = None
        self.models: dict[str, dict] = {}
        self.versions: list[str] = []  # each source row's version (its text has the mark)
        self.model = RowsModel(COLUMNS, self, tips=TIPS)
        self.proxy = sortable(self.model, self)
        self.table = QTableView(sortingEnabled=True)
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.setMinimumHeight(110)
        self.activate_button = QPushButton("Activate", enabled=False)
        self.activate_button.setToolTip("predict, score and select with this version")
        self.remove_button = QPushButton("Remove weights…", enabled=False)
        self.remove_button.setToolTip("delete the weights and cached predictions of the "
                                      "selected versions; their records stay")
        self.state = QLabel("")
        self.state.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.activate_button)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("model versions (* active; hover a column's name for what "
                                "it measures)"))
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        layout.addWidget(self.state)
        self.table.selectionModel().selectionChanged.connect(self._enable)
        self.activate_button.clicked.connect(self.activate_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        listen(self, session.events.project, self.refresh)
        listen(self, session.models_changed, self.refresh)
        self.refresh()

    def refresh(self, *_):
        project = self.session.project
        self.models = {m["version"]: m for m in list_models(project)} if project else {}
        self.versions = list(self.models)
        self.model.set_rows([self._row(project, m) for m in self.models.values()])
        self.table.resizeColumnsToContents()
        self._enable()

    @staticmethod
    def _row(project, m: dict) -> tuple:
        mark = "* " if m["active"] else ""
        gate = m["metrics"].get(GATE_KEY) or {}
        return (mark + m["version"], "removed" if m["removed"] else m["status"],
                m["metrics"].get("best_val_dice"), gate.get("candidate_dice"),
                round(weights_bytes(project, m["version"]) / 1e6), m["img_size"],
                f"{m['arch']}/{m['encoder']}", len(m["train_image_ids"]), m["parent"] or "")

    def selected(self) -> list[dict]:
        rows = {self.proxy.mapToSource(i).row() for i in self.table.selectionModel().selectedRows()}
        return [self.models[self.versions[r]] for r in sorted(rows)]

    def select(self, versions: list[str]) -> None:
        """Select rows by version (what a click on them does)."""
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QTableView.SelectionMode.MultiSelection)
        for row in range(self.proxy.rowCount()):
            if self.versions[self.proxy.mapToSource(self.proxy.index(row, 0)).row()] in versions:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)

    def _enable(self, *_):
        chosen = self.selected()
        busy = self.worker is not None
        self.activate_button.setEnabled(
            not busy and len(chosen) == 1 and chosen[0]["status"] in FINISHED
            and not chosen[0]["removed"] and not chosen[0]["active"])
        self.remove_button.setEnabled(not busy and bool(chosen) and all(
            not m["active"] and not m["removed"] and m["status"] != "training"
            for m in chosen))

    def activate_selected(self) -> None:
        (m,) = self.selected()
        activate(self.session.project, m["version"], by="hand")
        show_info(f"{m['version']} is now the active model")
        self.session.models_changed.emit()

    def remove_selected(self) -> None:
        versions = [m["version"] for m in self.selected()]
        answer = QMessageBox.question(
            self, "Remove model weights",
            f"Delete the weights and cached predictions of {', '.join(versions)}? Their "
            "val Dice and provenance stay; the models cannot be used again.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        project = self.session.project
        self.state.setText(f"removing {', '.join(versions)}…")

        def done(out):
            self.state.setText(f"removed {', '.join(out.removed)}: "
                               f"{out.freed_bytes / 1e6:.1f} MB freed")

        def finished():
            self.worker = None
            self.session.models_changed.emit()

        self.worker = start_job(lambda: remove_versions(project, versions), owner=self,
                                on_done=done, on_finished=finished)
        self._enable()
