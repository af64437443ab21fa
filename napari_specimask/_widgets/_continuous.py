"""Annotate's continuous-training toggle (``core.loop.continuous``), RootPainter's way.

Ticked, every ``every`` saves start a short fine-tuning run in a worker (napari's
activity dock shows it) with the options the Train form shows (the session's); when
the gate activates the new model, the queued images no one has open get its proposals
and Annotate reads them when it gets there. Stop ends the run without activating
anything; unticking stops it too.
"""

from __future__ import annotations

import threading

from napari.utils.notifications import show_info
from qtpy.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QWidget

from napari_specimask.core.loop.continuous import (
    due,
    fine_tune_round,
    new_saves,
    waiting_for,
)

from ._jobs import start_job
from ._session import listen


class ContinuousTraining:
    """The toggle, how many saves per run, a status line and Stop, for one session."""

    def __init__(self, session, owner: QWidget):
        self.session, self.owner = session, owner
        self.worker, self.stop_event = None, None
        self.last = ""  # what the last run came to
        self.toggle = QCheckBox("train while I annotate, after every")
        self.toggle.setToolTip("fine-tune the model in the background after every few saves;"
                               " the next images get its proposals once it beats the "
                               "current ones")
        self.every = QSpinBox(minimum=1, maximum=1000, suffix=" saves")
        self.every.setKeyboardTracking(False)  # "12" is not a 1 then a 12
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("end the running fine-tuning (nothing is activated)")
        self.stop_button.setEnabled(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.toggle.toggled.connect(self._toggled)
        self.every.editingFinished.connect(self._every_changed)  # written once, when set
        self.stop_button.clicked.connect(self.stop)
        listen(owner, session.events.project, self._project_changed)
        self._project_changed(session.project)

    def row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        for w in (self.toggle, self.every, self.stop_button):
            row.addWidget(w)
        return row

    @property
    def running(self) -> bool:
        return self.worker is not None

    def saved(self) -> None:
        """After each save: start a run when one is due (and none is running)."""
        project = self.session.project
        if not self.toggle.isChecked() or project is None or self.running:
            return
        if due(project, self.session.training):
            self._start()
        else:
            self.status.setText((f"{self.last}; " if self.last else "") + waiting_for(project))

    def stop(self) -> None:
        if self.stop_event is not None:
            self.stop_event.set()
            self.status.setText("stopping: the run ends at its next step, nothing activated")

    def _start(self) -> None:
        project, self.stop_event = self.session.project, threading.Event()
        stop, base = self.stop_event, self.session.training  # the Train form's options
        self.status.setText(f"fine-tuning on {new_saves(project)} new mask(s)…")
        self.stop_button.setEnabled(True)
        self.worker = start_job(
            lambda: fine_tune_round(project, stop, base), owner=self.owner, stop=stop,
            label="specimask: continuous training",
            on_progress=lambda p: self.status.setText(f"continuous training: {p.message}"),
            on_done=self._done, on_finished=self._finished, on_error=self._failed)

    def _failed(self, exc) -> None:
        """A failing run would fail again after every save: the mode turns itself off."""
        self.toggle.setChecked(False)
        self.status.setText(f"continuous training turned off: the run failed ({exc})")

    def _done(self, result) -> None:
        self.last = result.summary
        self.status.setText(result.summary)
        show_info(f"continuous training: {result.summary}")
        self.session.models_changed.emit()
        if result.refreshed:
            self.session.images_changed.emit()

    def _finished(self) -> None:
        stopped = self.stop_event is not None and self.stop_event.is_set()
        self.worker, self.stop_event = None, None
        self.stop_button.setEnabled(False)
        if not stopped and self.toggle.isChecked():
            self.saved()  # saves that came in while it trained may call for the next run

    def _toggled(self, on: bool) -> None:
        if on:
            self.saved()
        elif self.running:
            self.stop()

    def _every_changed(self) -> None:
        project, value = self.session.project, self.every.value()
        if project is not None and project.settings.continuous.every != value:
            project.settings.continuous.every = value
            project.save_settings()

    def _project_changed(self, project) -> None:
        self.stop()
        self.last = ""
        self.toggle.setEnabled(project is not None)
        if project is not None:
            self.every.setValue(project.settings.continuous.every)
