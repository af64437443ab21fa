"""Cold-start picker: every method (with its post-processing) on a few of the project's
images, side by side, with its measured score; apply the chosen one to all images.

Opened from the Project widget (*Cold start…*). Proposals are computed in a worker
(``core.coldstart.proposals``), never on the GUI thread; the thumbnails are the
proposals at full resolution, drawn small. Applying also refreshes the queued images
still shown a cold-start proposal; the image open in Annotate with unsaved edits keeps
its proposal unless the person says to replace it.
"""

from __future__ import annotations

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, SpinBox
from napari.utils.notifications import show_info
from qtpy.QtCore import Qt
from qtpy.QtGui import QImage, QPixmap
from qtpy.QtWidgets import (
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from napari_specimask.core.coldstart.methods import METHODS, ColdStart
from napari_specimask.core.coldstart.proposals import AUTO, apply_cold_start, preview_methods
from napari_specimask.core.masks.postprocess import PostProcess
from napari_specimask.core.vocabulary import Status

from ._jobs import start_job

THUMB_PX = 150
PREVIEW_IMAGES = 4
MASK_RGB = np.array([255, 0, 255], np.float32)  # magenta, as Annotate's mask


def overlay_thumbnail(rgb: np.ndarray, mask: np.ndarray, size: int = THUMB_PX) -> np.ndarray:
    """The image with its mask tinted magenta, at most ``size`` px on the long side."""
    step = max(1, int(np.ceil(max(rgb.shape[:2]) / size)))
    small, m = rgb[::step, ::step, :3].astype(np.float32), mask[::step, ::step]
    small[m] = 0.45 * small[m] + 0.55 * MASK_RGB
    return np.ascontiguousarray(small.astype(np.uint8))


def to_pixmap(rgb: np.ndarray) -> QPixmap:
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy())  # copy: the array may go away



class ColdStartPicker(QDialog):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Cold start: choose a method")
        self.session = session
        self.worker = None
        self.choice = None
        cs = session.project.settings.coldstart
        self.method = ComboBox(label="method", choices=tuple(METHODS))
        if cs.method != AUTO:
            self.method.value = cs.method
        self.kernel = SpinBox(label="dilate: kernel (px)", value=cs.kernel, min=1, max=51)
        self.iters = SpinBox(label="dilate: times (0 off)", value=cs.iters, min=0, max=20)
        self.fill_holes = CheckBox(label="fill holes", value=cs.fill_holes)
        self.min_size = SpinBox(label="drop specks under (px)", value=cs.min_size, min=0,
                                max=10**7)
        self.drop_frame = CheckBox(label="drop frames (objects along the image border)",
                                   value=cs.drop_frame)
        self.form = Container(widgets=[self.method, self.drop_frame, self.kernel, self.iters,
                                       self.fill_holes, self.min_size])
        self.preview_button = QPushButton("Preview")
        self.apply_button = QPushButton("Apply to all images")
        self.bar = QProgressBar()
        self.note = QLabel("Preview shows each method on a few of this project's images.")
        self.note.setWordWrap(True)
        self.grid = QGridLayout()
        grid_host = QWidget()
        grid_host.setLayout(self.grid)
        scroll = QScrollArea()
        scroll.setWidget(grid_host)
        scroll.setWidgetResizable(True)
        scroll.setMinimumSize(4 * (THUMB_PX + 12), 2 * (THUMB_PX + 40))
        buttons = QHBoxLayout()
        buttons.addWidget(self.preview_button)
        buttons.addWidget(self.apply_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form.native)
        layout.addLayout(buttons)
        layout.addWidget(self.bar)
        layout.addWidget(self.note)
        layout.addWidget(scroll)
        self.preview_button.clicked.connect(self.preview)
        self.apply_button.clicked.connect(self.apply)
        for w in (self.drop_frame, self.kernel, self.iters, self.fill_holes, self.min_size):
            w.changed.connect(lambda *_: self.note.setText(
                "post-processing changed: Preview again to see it"))

    def post(self) -> PostProcess:
        return PostProcess(self.kernel.value, self.iters.value, self.fill_holes.value,
                           self.min_size.value, self.drop_frame.value)

    def preview(self):
        project, post = self.session.project, self.post()
        self.preview_button.setEnabled(False)
        self.apply_button.setEnabled(False)
        self.worker = start_job(owner=self,
                                make_job=lambda: preview_methods(project, post, PREVIEW_IMAGES),
                                bar=self.bar, on_done=self._show,
                                on_finished=self._finished,
                                label="specimask: cold-start preview")
        return self.worker

    def _show(self, result) -> None:
        sample, compared = result
        choice, masks = compared.choice, compared.masks
        self.choice = choice
        while self.grid.count():
            self.grid.takeAt(0).widget().deleteLater()
        scores = {s.method: s for s in choice.scores}
        for col, method in enumerate(METHODS):
            s = scores[method]
            measured = f"Dice {s.dice:.2f}" if s.dice is not None else f"score {s.proxy:.2f}"
            star = " ★ chosen" if method == choice.method else ""
            head = QLabel(f"<b>{method}</b>{star}<br>{measured}")
            head.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.grid.addWidget(head, 0, col)
            for row, (img, mask) in enumerate(zip(sample.images, masks[method]), start=1):
                cell = QLabel()
                cell.setPixmap(to_pixmap(overlay_thumbnail(img, mask)))
                cell.setToolTip(f"{sample.records[row - 1].relpath}: {method}")
                self.grid.addWidget(cell, row, col)
        self.method.value = choice.method
        self.note.setText(f"{choice.reason} Pick another method above if you see better.")

    def apply(self):
        """Store the chosen method's proposals for every image not yet verified."""
        project = self.session.project
        cold_start = ColdStart(self.method.value, self.post())
        canvas = self.session.canvas
        current = canvas.image_id if canvas is not None and canvas.project is project else None
        keep = frozenset()
        if current is not None and self.session.unsaved_edits() is not None:
            answer = QMessageBox.question(
                self, "Unsaved edits",
                f"The image open in Annotate has unsaved edits. Replace its proposal with "
                f"{cold_start.method}'s too (your edits there are discarded)?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                keep = frozenset({current})
            else:
                self.session.discard_edits()
        self.apply_button.setEnabled(False)

        def done(n):
            self.session.images_changed.emit()
            if current is not None and current not in keep and \
                    project.image(current).status == Status.QUEUED:
                self.session.show_requested.emit(current)  # show its new proposal
            show_info(f"cold start: {n} '{cold_start.method}' proposal(s) stored")
            self.note.setText(f"applied: {n} image(s) now have {cold_start.method} "
                              "proposals; new images get them too")

        self.worker = start_job(
            owner=self, make_job=lambda: apply_cold_start(project, cold_start, keep=keep),
            bar=self.bar, on_done=done, on_finished=self._finished,
            label="specimask: cold start")
        return self.worker

    def _finished(self) -> None:
        self.worker = None
        self.preview_button.setEnabled(True)
        self.apply_button.setEnabled(True)
