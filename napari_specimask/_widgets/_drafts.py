"""Drafts of the canvas's edits while a person paints, and their offer back after a kill.

A pause in painting (``PAUSE_MS``), or every ``EVERY_MS`` while it goes on, stages what the
canvas holds as the author's draft (``core.store.drafts``) through Annotate's background
writes. When an image is opened and a draft of it is left (napari was killed or
crashed), the person is asked whether to put it back on the canvas.
"""

from __future__ import annotations

import numpy as np
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QMessageBox

from ._corrections import MASK

PAUSE_MS = 1500  # a pause in painting this long stages a draft
EVERY_MS = 5000  # and at least this often while painting goes on


class DraftKeeper:
    """The draft timers and the offer of one Annotate widget (``annotate``)."""

    def __init__(self, annotate):
        self.annotate = annotate
        self.pause = QTimer(annotate, singleShot=True, interval=PAUSE_MS)
        self.every = QTimer(annotate, singleShot=True, interval=EVERY_MS)
        for timer in (self.pause, self.every):
            timer.timeout.connect(self.stage)

    def changed(self) -> None:
        """The canvas changed: stage at the next pause, or soon while painting goes on."""
        self.pause.start()
        if not self.every.isActive():
            self.every.start()

    def stop(self) -> None:
        self.pause.stop()
        self.every.stop()

    def stage(self) -> None:
        """Keep what the canvas holds as a draft (in the background), if it changed."""
        self.stop()
        a = self.annotate
        if not a.dirty or a.canvas is None or a.loading is not None:
            return
        shot = a.snapshot()
        if shot is not None:
            a.writes.stage_draft(a.canvas, shot, a.clean, author=a.who(), base=a.base)

    def offer(self, draft) -> None:
        """The image has edits a window that died never saved: put them back, or not."""
        a = self.annotate
        mask = draft.mask()
        if mask.shape != a.clean.shape:
            a.writes.drop_draft(a.canvas, a.who())
            return
        since = "" if draft.base_annotation == a.base else (
            " Someone saved a mask for this image since; restoring puts your edits over "
            "theirs on the canvas (saving will ask).")
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Discard
        answer = QMessageBox.question(
            a, "Unsaved edits found",
            f"{a.canvas.image.relpath} has edits of yours from {draft.when} that were "
            f"never saved ({draft.pixels_changed:,} px changed; napari closed without "
            f"saving them).{since}\n\nRestore them on the canvas?", buttons)
        if answer != QMessageBox.StandardButton.Yes:
            a.writes.drop_draft(a.canvas, a.who())
            return
        with a.setting_layers():
            a.corrective.new_image()
            a.viewer.layers[MASK].data = mask.astype(np.uint8)
        a.dirty = True
        a.status.setText(a.status.text() + f"; restored your unsaved edits from "
                         f"{draft.when} (not saved yet)")
