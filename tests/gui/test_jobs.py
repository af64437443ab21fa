"""How the widgets' long jobs show: one toast per error and no traceback for the project's
own errors, a line in napari's activity dock while a job runs, bars that end full."""

from __future__ import annotations

import pytest

napari = pytest.importorskip("napari")
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
