"""Running core jobs in a worker thread with a progress bar, the napari way."""

from __future__ import annotations

import gc
from collections.abc import Callable

from napari.qt.threading import create_worker
from napari.utils.notifications import show_error
from qtpy.QtWidgets import QProgressBar

from napari_specimask.core.errors import SpecimaskError

from ._process import keep_triton_out


def start_job(make_job: Callable, *, bar: QProgressBar | None = None,
              on_progress: Callable | None = None, on_done: Callable | None = None,
              on_error: Callable | None = None, on_finished: Callable | None = None,
              owner=None):
    """Run ``make_job()`` (a core generator) in a thread; GUI-thread slots get the reports.

    ``make_job`` is called in the worker thread, so whatever it loads (a model, images)
    never touches the GUI thread. Errors become napari notifications. With ``owner`` (a
    widget), closing it asks the worker to stop at its next progress report.
    """

    def body():
        return (yield from make_job())

    gc.freeze()  # long-lived objects made since (layers, models) stay out of GC scans
    keep_triton_out()  # the job may import the torch stack first: see _process

    worker = create_worker(body, _start_thread=False)

    def progress(p):
        if bar is not None and getattr(p, "total", 0):
            bar.setMaximum(max(1, int(p.total)))
            bar.setValue(min(int(p.done), int(p.total)))
            bar.setFormat(f"%v / %m  {getattr(p, 'message', '')[-50:]}")
        if on_progress is not None:
            on_progress(p)

    def errored(exc):
        show_error(str(exc) if isinstance(exc, SpecimaskError) else
                   f"{type(exc).__name__}: {exc}")
        if on_error is not None:
            on_error(exc)

    worker.yielded.connect(progress)
    if on_done is not None:
        worker.returned.connect(on_done)
    worker.errored.connect(errored)
    if on_finished is not None:
        worker.finished.connect(on_finished)
    if owner is not None:
        owner.destroyed.connect(worker.quit)
    worker.start()
    return worker
