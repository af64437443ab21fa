"""The Project tab on a project of a million images, sorted by score, for docs/scale.md.

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python scripts/big_project_screenshot.py

Builds the synthetic project of ``benchmarks/million_images.py`` (a million rows, 1 %
labelled, 20 queued, an active model that scored the pool), opens it as a person would,
sorts the table by score (most uncertain first), filters it to the unlabelled pool and
writes docs/images/project_million.png. Prints how long each step took to show.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from _screens import Window

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from million_images import build  # noqa: E402 - the benchmark's project, not a copy


def main(n: int = 1_000_000) -> None:
    from qtpy.QtCore import Qt

    scratch = Path(tempfile.mkdtemp(prefix="specimask-million-"))
    try:
        build(scratch / "collection", n)
        win = Window()
        project_w = win.widgets["Project"]
        t0 = time.perf_counter()
        project_w.open_project(scratch / "collection")
        win.wait(lambda: win.widgets["Annotate"].image_id is not None)
        print(f"first image shown after {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        project_w.table.sortByColumn(4, Qt.SortOrder.DescendingOrder)
        project_w.filter.setText("pool unlabeled")
        win.wait(lambda: project_w.model.query.words == ("pool", "unlabeled")
                 and not project_w.model.loading)
        print(f"sorted by score and filtered after {time.perf_counter() - t0:.1f} s")
        win.shot("Project", REPO / "docs" / "images" / "project_million.png")
        win.viewer.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
