"""Small jobs in a background thread, in order, with their outcome on the GUI thread.

For what is too slow for the GUI thread (a query over every iteration, an fsync'd
write, a full-size PNG) but too small to be a job in napari's activity dock. ``Serial``
runs what it is given one at a time, in the order given, and calls ``on_done`` (or
``on_error``) on the GUI thread; ``flush`` waits for all of it and handles the outcomes
at once (before a project is closed, or the window).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from qtpy.QtCore import QObject, Signal


@dataclass
class Write:
    """One job of the queue and what to do with its outcome on the GUI thread."""

    run: Callable[[], object]
    on_done: Callable[[object], None] | None = None
    on_error: Callable[[BaseException], None] | None = None
    future: Future | None = None
    handled: bool = field(default=False)


class Serial(QObject):
    finished = Signal(object)  # a Write, emitted from the worker, handled on the GUI thread

    def __init__(self, parent=None, name: str = "specimask-background"):
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._writes: list[Write] = []
        self._lock = threading.Lock()
        self.finished.connect(self._handle)

    def run(self, job: Callable[[], object], on_done=None, on_error=None) -> Write:
        """Run ``job()`` after what was given before; its outcome to ``on_done`` (or
        ``on_error``; without one, a notification) on the GUI thread."""
        return self._submit(Write(job, on_done, on_error))

    @property
    def pending(self) -> int:
        with self._lock:
            return sum(not w.handled for w in self._writes)

    def flush(self) -> None:
        """Wait for every write asked for, and handle each outcome now (a conflict's
        question included); writes those handlers ask for are waited for too."""
        while True:
            with self._lock:
                waiting = [w for w in self._writes if not w.handled]
            if not waiting:
                return
            for w in waiting:
                try:
                    w.future.exception()  # waits; the outcome is handled below
                except BaseException:  # noqa: BLE001 - cancelled at shutdown
                    pass
                self._handle(w)

    def close(self) -> None:
        self.flush()
        self._pool.shutdown(wait=True)

    # -- internals ---------------------------------------------------------------------

    def _submit(self, write: Write) -> Write:
        with self._lock:
            self._writes.append(write)
        write.future = self._pool.submit(write.run)
        write.future.add_done_callback(lambda _f: self._emit(write))
        return write

    def _emit(self, write: Write) -> None:
        try:
            self.finished.emit(write)
        except RuntimeError:  # the widget is gone: nothing to tell (flush handled it)
            pass

    def _handle(self, write: Write) -> None:
        """A write's outcome, once, on the GUI thread (from the signal, or ``flush``)."""
        with self._lock:
            if write.handled or write.future is None or not write.future.done():
                return
            write.handled = True
            self._writes.remove(write)
        error = write.future.exception()
        if error is not None:
            if write.on_error is not None:
                write.on_error(error)
            else:
                from napari.utils.notifications import show_error

                show_error(f"specimask: {error}")
        elif write.on_done is not None:
            write.on_done(write.future.result())
