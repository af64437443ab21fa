"""How the widgets' long jobs show: one toast per error and no traceback for the project's
own errors, a line in napari's activity dock while a job runs, bars that end full."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def test_an_expected_error_is_one_toast_and_no_traceback(docked, qtbot, demo, capfd):
    from napari.utils.notifications import notification_manager

    viewer, w, session = docked(demo)
    train = w["Train"]
    train.form.encoder_weights.value = "none"
    seen = len(notification_manager.records)
    capfd.readouterr()
    worker = train.start()  # the demo's pool has no verified masks yet: a SpecimaskError
    qtbot.waitUntil(lambda: train.worker is None, timeout=60_000)
    qtbot.wait(100)
    new = [str(r.message) for r in notification_manager.records[seen:]]
    assert len(new) == 1, new
    assert "Traceback" not in capfd.readouterr().err
    assert worker.abort_requested is False


def test_a_running_job_is_listed_in_the_activity_dock(docked, qtbot, demo):
    from napari.utils import progress

    viewer, w, session = docked(demo)
    al = w["Active learning"]
    al.strategy.setCurrentText("random")
    worker = al.select()
    assert [p.desc for p in progress._all_instances] == ["specimask: Active learning"]
    qtbot.waitUntil(lambda: not list(progress._all_instances), timeout=60_000)  # closed
    assert not worker.is_running


def test_jobs_ending_out_of_order_leave_no_warning_hook_on_a_dead_worker(qtbot):
    """superqt restores the warnings hook it found when a worker ends: two jobs ending
    out of order left the first worker's hook in place, and a warning after that (from
    a training thread) aborted napari (seen as SIGABRT at exit)."""
    import threading
    import warnings

    from napari_specimask._widgets._jobs import start_job
    from napari_specimask.core.progress import Progress

    def waiting(gate):
        def job():
            yield Progress(0, 1, "waiting")
            gate.wait(30)
            return 1
        return job

    first, second = threading.Event(), threading.Event()
    started = []
    a = start_job(waiting(first), on_progress=lambda p: started.append("a"))
    qtbot.waitUntil(lambda: "a" in started)
    b = start_job(waiting(second), on_progress=lambda p: started.append("b"))
    qtbot.waitUntil(lambda: "b" in started)
    ended = []
    a.finished.connect(lambda: ended.append("a"))
    b.finished.connect(lambda: ended.append("b"))
    first.set()
    qtbot.waitUntil(lambda: "a" in ended)
    second.set()
    qtbot.waitUntil(lambda: "b" in ended)
    hook = warnings.showwarning
    assert "WorkerBase" not in getattr(hook, "__qualname__", ""), hook
    warnings.warn("a warning after both jobs", UserWarning, stacklevel=1)  # no abort
