"""Annotate dock widget: step through the queued batch, correct or accept each proposal.

The image is shown with its proposal (or its verified mask) as an editable Labels layer,
brush ready. Saving goes through ``core.annotations.submit_mask``, which records accepted
vs corrected, the fraction changed and the seconds spent. Moving on saves, asks about or
discards unsaved edits, by a setting.
"""

from __future__ import annotations

import time

import numpy as np
from napari.utils.notifications import show_info
from qtpy.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from napari_specimask.core.annotations import iteration_summary, submit_mask
from napari_specimask.core.image_io import to_rgb8

from ._layers import put_image, put_labels
from ._session import session_for

ON_MOVE = ("save", "ask", "discard")


def similar(shape, fitted, tolerance: float = 0.1) -> bool:
    """Within 10 % of the size the view was last fitted to (napari's margin absorbs it)."""
    return fitted is not None and all(abs(a - b) <= tolerance * b for a, b in zip(shape, fitted))
HOTKEYS = {"next": "Alt-Right", "previous": "Alt-Left", "accept": "Alt-A", "save": "Alt-S",
           "skip": "Alt-K"}


class AnnotateWidget(QWidget):
    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.image_id: int | None = None
        self.initial: np.ndarray | None = None
        self.shown_at = 0.0
        self.status = QLabel("Open a project and select a batch")
        self.status.setWordWrap(True)
        self.progress = QLabel("")
        self.buttons = {name: QPushButton(f"{label} ({HOTKEYS[name]})") for name, label in (
            ("previous", "◀ Previous"), ("next", "Next ▶"), ("accept", "Accept as is"),
            ("save", "Save"), ("skip", "Skip"))}
        self.on_move = QComboBox()
        self.on_move.addItems(ON_MOVE)
        grid = QGridLayout()
        grid.addWidget(self.buttons["previous"], 0, 0)
        grid.addWidget(self.buttons["next"], 0, 1)
        grid.addWidget(self.buttons["accept"], 1, 0)
        grid.addWidget(self.buttons["save"], 1, 1)
        grid.addWidget(self.buttons["skip"], 2, 0, 1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.progress)
        layout.addLayout(grid)
        row = QHBoxLayout()
        row.addWidget(QLabel("unsaved edits when moving on:"))
        row.addWidget(self.on_move)
        layout.addLayout(row)
        layout.addStretch()
        actions = {"next": lambda: self.step(1), "previous": lambda: self.step(-1),
                   "accept": self.accept, "save": self.save, "skip": self.skip}
        for name, fn in actions.items():
            self.buttons[name].clicked.connect(fn)
            napari_viewer.bind_key(HOTKEYS[name], lambda _v, f=fn: f(), overwrite=True)
        self.session.queue_changed.connect(self._queue_changed)
        self.session.show_requested.connect(self.show)
        self.session.project_changed.connect(lambda _p: self._update_progress())
        self._update_progress()

    # -- showing -----------------------------------------------------------------------

    def show(self, image_id: int) -> None:
        project = self.session.project
        record = project.image(image_id)
        image = to_rgb8(project.read_image(record))
        verified = project.load_mask(image_id)
        proposal = project.load_mask(image_id, "proposal")
        if proposal is None:
            proposal = project.load_mask(image_id, "pseudo")
        start = verified if verified is not None else proposal
        if start is None:
            start = np.zeros(image.shape[:2], bool)
        self.image_id = image_id
        self.initial = start.copy()
        put_image(self.viewer, "image", image, rgb=True)
        labels = put_labels(self.viewer, "mask", start.astype(np.uint8), {0: "transparent",
                            1: "magenta"})
        # each of these rebuilds cursors or controls when set, so only on a change
        brush = max(2, round(max(image.shape[:2]) / 80))
        if labels.brush_size != brush:
            labels.brush_size = brush
        if labels.selected_label != 1:
            labels.selected_label = 1
        if labels.mode != "paint":
            labels.mode = "paint"
        if self.viewer.layers.selection.active is not labels:
            self.viewer.layers.selection.active = labels
        if not similar(image.shape[:2], getattr(self, "_fitted", None)):
            self.viewer.reset_view()  # refit only for a clearly different size
            self._fitted = image.shape[:2]
        self.shown_at = time.monotonic()
        origin = "verified mask" if verified is not None else (
            "proposal" if proposal is not None else "empty mask")
        self.status.setText(f"{record.relpath} ({record.width} x {record.height}, "
                            f"{record.role}, {record.status}); showing its {origin}")
        self._update_progress()
        self.session.current_changed.emit(image_id)

    @property
    def mask(self) -> np.ndarray | None:
        return self.viewer.layers["mask"].data > 0 if "mask" in self.viewer.layers else None

    @property
    def edited(self) -> bool:
        return self.initial is not None and self.mask is not None and \
            not np.array_equal(self.mask, self.initial)

    # -- actions -----------------------------------------------------------------------

    def save(self) -> dict | None:
        if self.image_id is None:
            return None
        result = submit_mask(self.session.project, self.image_id, self.mask,
                             seconds=round(time.monotonic() - self.shown_at, 1))
        self.initial = self.mask.copy()
        self.session.images_changed.emit()
        show_info(f"saved ({result['origin']})")
        self._update_progress()
        return result

    def accept(self) -> dict | None:
        """Save the proposal exactly as it was shown, then move on."""
        if self.image_id is None:
            return None
        self.viewer.layers["mask"].data = self.initial.astype(np.uint8)
        result = self.save()
        self.step(1, check_edits=False)
        return result

    def skip(self) -> None:
        if self.image_id is None:
            return
        self.session.project.set_status([self.image_id], "skipped")
        self.session.images_changed.emit()
        self.step(1, check_edits=False)

    def step(self, delta: int, check_edits: bool = True) -> None:
        queue = self.session.queue
        if not queue:
            return
        if check_edits and self.edited and not self._settle_edits():
            return  # the person chose to stay on this image
        here = queue.index(self.image_id) if self.image_id in queue else -1
        target = min(max(here + delta, 0), len(queue) - 1)
        if target != here or self.image_id not in queue:
            self.show(queue[target])

    def _settle_edits(self) -> bool:
        """Save, ask or discard unsaved edits (the setting); False means stay here."""
        mode = self.on_move.currentText()
        if mode == "ask":
            buttons = (QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                       | QMessageBox.StandardButton.Cancel)
            answer = QMessageBox.question(self, "Unsaved edits",
                                          "Save your edits to this mask?", buttons)
            if answer == QMessageBox.StandardButton.Cancel:
                return False
            mode = "save" if answer == QMessageBox.StandardButton.Save else "discard"
        if mode == "save":
            self.save()
        return True

    def _queue_changed(self, queue) -> None:
        if queue:
            self.show(queue[0])
        self._update_progress()

    def _update_progress(self) -> None:
        project = self.session.project
        if project is None:
            self.progress.setText("")
            return
        rows = iteration_summary(project)
        queue = self.session.queue
        place = (queue.index(self.image_id) + 1) if self.image_id in queue else 0
        if rows:
            r = rows[-1]
            self.progress.setText(
                f"Iteration {r['iteration']}: image {place} / {len(queue)}; "
                f"{r['annotated']} / {r['selected']} saved, {r['corrected']} corrected, "
                f"{r['accepted']} accepted")
        else:
            self.progress.setText(f"image {place} / {len(queue)}" if queue else "")
