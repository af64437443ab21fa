"""Running core jobs in a worker thread with a progress bar, the napari way."""

from __future__ import annotations

import logging
import re
import threading
import warnings
from collections.abc import Callable

from napari.qt.threading import create_worker
from napari.utils import progress
from napari.utils.notifications import notification_manager, show_error
from qtpy.QtCore import QEvent, QObject
from qtpy.QtWidgets import QProgressBar

from napari_specimask.core.errors import SpecimaskError

from ._process import keep_triton_out


def start_job(make_job: Callable, *, bar: QProgressBar | None = None,
              on_progress: Callable | None = None, on_done: Callable | None = None,
              on_error: Callable | None = None, on_finished: Callable | None = None,
              owner=None, stop: threading.Event | None = None, label: str | None = None):
    """Run ``make_job()`` (a core generator) in a thread; GUI-thread slots get the reports.

    ``make_job`` is called in the worker thread, so whatever it loads (a model, images)
    never touches the GUI thread. Progress shows in ``bar`` and in napari's activity dock
    (as ``label``), each ending full when the job succeeds. An error is one notification:
    the project's own errors as their one-line message, anything else through napari's
    handler (with its traceback, for a bug report). With ``owner`` (a widget), closing
    its dock (napari takes the widget out of it) or deleting it ends the job: the worker
    stops at its next report, ``stop`` (the job's own stop event) is set so work that
    runs apart from the reports (training) ends too, and ``on_done`` is not called.
    """

    def body():
        # superqt routes warnings to this worker's Qt signal through the process-wide
        # warnings.showwarning, and restores what it found when the worker ends: with two
        # workers ending out of order, that is a lambda on a deleted worker, and the next
        # warning from any thread (Lightning, in a training thread) aborts the process.
        # In the job, warnings go to the log instead; nothing Qt is touched from here.
        warnings.showwarning = _log_warning
        return (yield from make_job())

    keep_triton_out()  # the job may import the torch stack first: see _process

    # _ignore_errors: superqt would also re-raise each error in the GUI thread, where
    # napari's hook made a second toast and printed the traceback of an expected error
    worker = create_worker(body, _start_thread=False, _ignore_errors=True)
    shown = _Shown(bar, label or _label(owner))

    if owner is not None:  # a report that arrives after the widget's Qt side is gone
        on_progress, on_done, on_error, on_finished = (
            _while_alive(owner, f) for f in (on_progress, on_done, on_error, on_finished))

    def errored(exc):
        if isinstance(exc, SpecimaskError):
            show_error(str(exc))
        else:  # a bug: napari's handler, with the traceback for the report
            notification_manager.receive_error(type(exc), exc, exc.__traceback__)
        if on_error is not None:
            on_error(exc)

    worker.yielded.connect(lambda p: shown.report(p, on_progress))
    worker.returned.connect(lambda _: shown.complete())  # before on_done, connected below
    if on_done is not None:
        worker.returned.connect(on_done)
    worker.errored.connect(errored)
    worker.finished.connect(shown.close)
    if on_finished is not None:
        worker.finished.connect(on_finished)
    if owner is not None:
        _end_with(owner, worker, stop)
    worker.start()
    return worker


def _end_with(owner, worker, stop: threading.Event | None) -> None:
    """Closing ``owner``'s dock, or deleting it, ends the worker (and sets ``stop``)."""
    def cancel(*_):
        if stop is not None:
            stop.set()
        worker.quit()

    owner.destroyed.connect(cancel)
    worker.finished.connect(_OnUndock(owner, cancel).deleteLater)


def _while_alive(owner, slot: Callable | None) -> Callable | None:
    """``slot``, skipped once ``owner`` (a widget) is deleted: its worker's last signals
    may already be queued when napari closes the dock."""
    if slot is None:
        return None

    def call(*args):
        try:
            owner.objectName()  # raises once the C++ object is gone
        except RuntimeError:
            return None
        return slot(*args)

    return call


def _log_warning(message, category, filename, lineno, file=None, line=None) -> None:
    logging.getLogger("napari_specimask.jobs").debug(
        "%s", warnings.formatwarning(message, category, filename, lineno, line))


def _label(owner) -> str:
    """'specimask: Active learning' for an ActiveLearningWidget's job."""
    if owner is None:
        return "specimask"
    words = re.findall(r"[A-Z][a-z]*", type(owner).__name__.removesuffix("Widget"))
    return "specimask: " + " ".join(words).capitalize()


def _tail(message: str, n: int) -> str:
    """The end of ``message`` in at most ``n`` characters, cut at a word ("…comparing v001
    with ...", not "omparing v001 with ...")."""
    if len(message) <= n:
        return message
    end = message[-(n - 1):]
    return "…" + (end.split(" ", 1)[1] if " " in end else end)


class _Shown:
    """A job's progress in its widget's bar and in napari's activity dock."""

    def __init__(self, bar: QProgressBar | None, label: str):
        self.bar, self.label = bar, label
        self.activity = progress(total=0, desc=label, miniters=1)  # rate: see update
        self.over = False  # the job returned: a report handled after that is stale

    def report(self, p, on_progress=None) -> None:
        """Show a report, then hand it to the widget. napari's activity bar processes Qt
        events while it updates, so the job's end can be handled inside ``update``; a
        report passed on after that would overwrite the widget's final state line."""
        if self.over:
            return
        self.update(p)
        if on_progress is not None and not self.over:
            on_progress(p)

    def update(self, p) -> None:
        total, done = int(getattr(p, "total", 0) or 0), int(getattr(p, "done", 0) or 0)
        message = getattr(p, "message", "")
        if total:
            if self.bar is not None:
                self.bar.setMaximum(max(1, total))
                self.bar.setValue(min(done, total))
                self.bar.setFormat(f"%v / %m  {_tail(message, 50)}")
            if total != self.activity.total:
                self.activity.reset(total=total)  # a new stage: its own clock, rate and ETA
            step = min(done, total) - self.activity.n
            if step > 0:  # update, not n =: the dock's bar moves, the rate is smoothed
                self.activity.update(step)
            else:
                self.activity.n = min(done, total)
                self.activity.events.value(value=self.activity.n)
        self.activity.set_description(f"{self.label}: {_tail(message, 40)}" if message
                                      else self.label)
        self.activity.refresh()

    def complete(self) -> None:
        self.over = True
        if self.bar is not None and self.bar.maximum() > 0:
            self.bar.setValue(self.bar.maximum())
            self.bar.setFormat("%v / %m  done")

    def close(self) -> None:
        self.activity.close()


class _OnUndock(QObject):
    """Calls ``cancel`` when napari takes ``widget`` out of its dock (the dock's close
    button: ``remove_dock_widget`` sets the widget's parent to None)."""

    def __init__(self, widget, cancel: Callable):
        super().__init__(widget)
        self.cancel = cancel
        widget.installEventFilter(self)

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Type.ParentChange and obj.parent() is None:
            self.cancel()
        return False
