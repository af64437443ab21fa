"""Progress reports for long core jobs.

Long jobs are generators that yield ``Progress`` and ``return`` their result, and take an
optional ``threading.Event`` to stop early. The CLI drives them with a progress bar; the
GUI runs them in a ``thread_worker``. Core never knows which.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
Job = Generator["Progress", None, T]


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    message: str = ""

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0


def stopped(stop: threading.Event | None) -> bool:
    return stop is not None and stop.is_set()


def run(job: Job[T], on_progress: Callable[[Progress], Any] | None = None) -> T:
    """Drive a job to the end and return its result (for scripts and tests)."""
    while True:
        try:
            p = next(job)
        except StopIteration as done:
            return done.value
        if on_progress is not None:
            on_progress(p)


def map_progress(job: Job[T], fn: Callable[[Any], Progress]) -> Job[T]:
    """``job`` with each report passed through ``fn`` (e.g. to say which part of a larger
    job it belongs to); returns the job's result."""
    while True:
        try:
            p = next(job)
        except StopIteration as done:
            return done.value
        yield fn(p)


def then(job: Job[T], fn: Callable[[T], Any]) -> Job[T]:
    """``job`` with ``fn`` run on its result before it is returned (to add to a report)."""
    result = yield from job
    fn(result)
    return result


_DONE = object()


def threaded(fn: Callable[[Callable[[Any], None]], T],
             stop: threading.Event | None = None) -> Job[T]:
    """Run ``fn(report)`` in a thread and yield what it reports; return its result.

    For engines that only take callbacks (Lightning's ``fit`` blocks), so they still fit
    the generator shape the CLI and the GUI's ``thread_worker`` drive. A consumer that
    quits (closes this generator) sets ``stop``, the event ``fn`` watches, so the thread
    ends at its next step instead of running on unseen.
    """
    q: queue.Queue = queue.Queue()
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = fn(q.put)
        except BaseException as exc:  # handed to the consumer below
            outcome["error"] = exc
        finally:
            q.put(_DONE)

    thread = threading.Thread(target=target, name="specimask-job", daemon=True)
    thread.start()
    try:
        while (item := q.get()) is not _DONE:
            yield item
    except GeneratorExit:
        if stop is not None:
            stop.set()
        raise
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
