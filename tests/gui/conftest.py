"""GUI test plumbing shared by the widget tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _workers_end_before_the_folder_goes(tmp_path):
    """Background jobs a test leaves running (a prediction refresh after training) are
    stopped and awaited after the viewer closes and before pytest removes the test's
    folder (passing tests' folders are deleted: see tmp_path_retention_policy)."""
    yield
    from napari.qt.threading import WorkerBase

    WorkerBase.await_workers(msecs=60_000)
