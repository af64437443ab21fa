"""The CLI progress bar: done / total, images per second and the time left, per stage."""

from __future__ import annotations

import io
import re
import time

from napari_specimask.cli import _jobs
from napari_specimask.core.progress import Progress


def test_bar_shows_rate_and_time_left_and_restarts_per_stage(monkeypatch):
    out, real = io.StringIO(), _jobs.tqdm
    monkeypatch.setattr(_jobs, "tqdm", lambda **kw: real(**{**kw, "file": out,
                                                              "disable": False}))
    with _jobs.ProgressBar("import") as bar:
        for i in range(5):
            bar.update(Progress(i, 10, f"sheet_{i}.jpg"))
            time.sleep(0.12)
        assert re.search(r"4/10 \[00:0\d<00:0\d, +[\d.]+img/s, sheet_4.jpg\]", str(bar.bar))
        bar.update(Progress(0, 3, "proposals"))  # a new stage: its own clock and rate
        assert (bar.bar.n, bar.bar.total) == (0, 3)
        assert bar.bar.format_dict["elapsed"] < 0.1
