"""GUI stalls while a person steps through a batch, paints and saves: real sheets at their
own size (about 700 x 1000 px) and the same sheets at 9000 x 6000 px (54 MP, as a
herbarium's full-resolution scans).

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python benchmarks/gui_stalls.py \
        [SHEETS_DIR] [--sheets 8] [--only small|large]

A QTimer beats every 5 ms on the GUI thread; a stall is how late a beat comes. A scripted
person, at a person's pace, paints a stroke, saves and moves on (Alt-N), then paints and
saves on the next, for every sheet of a batch, with the window on the screen and
Predictions docked. Printed: p99 and longest stall per size, and what the person waited
for (from Alt-N until the next sheet was shown). Target (issue 22): p99 < 50 ms and
longest < 200 ms on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHEETS = REPO.parent / "shared" / "data" / "violaceae_pool"
PERIOD_MS = 5


def make_project(root: Path, sheets: list[Path], size: tuple[int, int] | None) -> Path:
    """A project of ``sheets`` (scaled to ``size`` (h, w) when given) with cold-start
    proposals, and one random batch of all of them queued."""
    from PIL import Image

    from napari_specimask.core.active.queue import select_next
    from napari_specimask.core.coldstart.proposals import project_cold_start, propose_masks
    from napari_specimask.core.exchange.image_import import import_images
    from napari_specimask.core.progress import run
    from napari_specimask.core.store.project import Project

    folder = root.parent / f"{root.name}_images"
    folder.mkdir(parents=True)
    for path in sheets:
        if size is None:
            shutil.copy(path, folder / path.name)
        else:
            Image.open(path).convert("RGB").resize(size[::-1], Image.Resampling.BILINEAR) \
                .save(folder / path.name, quality=90)
    project = Project.create(root)
    project.settings.images.max_pixels = 60_000_000
    project.save_settings()
    report = run(import_images(project, folder))
    cold, _ = run(project_cold_start(project))
    run(propose_masks(project, cold, image_ids=report.added))
    run(select_next(project, "random", len(report.added)))
    project.close()
    return root


class Beat:
    """Stalls of the Qt event loop, measured by a timer on the GUI thread."""

    def __init__(self):
        from qtpy.QtCore import QTimer

        self.beats: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(PERIOD_MS)
        self.timer.timeout.connect(lambda: self.beats.append(time.perf_counter()))

    def stalls(self) -> np.ndarray:
        return np.clip(np.diff(self.beats) * 1000 - PERIOD_MS, 0, None)


def walk_batch(app, viewer, w, pace_s: float) -> tuple[np.ndarray, list[float]]:
    """The person: paint, Alt-N, then on each next sheet paint and Alt-N again, every
    ``pace_s``; returns the stalls and each wait from Alt-N to the next sheet shown."""
    annotate, session = w["Annotate"], w["Annotate"].session
    beat = Beat()
    waits: list[float] = []
    pressed = [None]
    shown = [annotate.image_id]

    def loading() -> bool:  # (getattr: the same script times the code before issue 22)
        return getattr(annotate, "loading", None) is not None

    def act():
        if loading() or pressed[0] is not None:
            return  # still opening the last one: the person waits
        labels = viewer.layers["mask"]
        h, w_ = labels.data.shape
        labels.brush_size = max(3, h // 60)
        labels.paint((h // 3, w_ // 3), 1 - int(labels.data[h // 3, w_ // 3]))
        pressed[0] = time.perf_counter()
        annotate.save_and_next()

    def watch():
        if pressed[0] is not None and not loading() and annotate.image_id != shown[-1]:
            waits.append(time.perf_counter() - pressed[0])
            shown.append(annotate.image_id)
            pressed[0] = None

    from qtpy.QtCore import QTimer

    person = QTimer()
    person.setInterval(int(pace_s * 1000))
    person.timeout.connect(act)
    beat.timer.timeout.connect(watch)
    beat.timer.start()
    person.start()
    n = len(session.queue)
    t0 = time.perf_counter()
    while len(shown) < n and time.perf_counter() - t0 < 60 * n:
        app.processEvents()
        time.sleep(0.0005)
    person.stop()
    annotate.save()  # the last sheet too
    writes = getattr(annotate, "writes", None)
    while writes is not None and writes.pending and time.perf_counter() - t0 < 60 * n:
        app.processEvents()
        time.sleep(0.0005)
    beat.timer.stop()
    return beat.stalls(), waits


def measure(label: str, root: Path, pace_s: float) -> None:
    import napari

    from napari_specimask._launch import dock_widgets, raise_tab
    from napari_specimask._widgets._process import settle_heap

    viewer = napari.Viewer(title="specimask")
    viewer.window._qt_window.showMaximized()
    app = napari.qt.get_qapp()
    w = dock_widgets(viewer)
    raise_tab(viewer, "Annotate")
    w["Project"].open_project(root)
    annotate = w["Annotate"]
    t0 = time.perf_counter()
    while annotate.image_id is None and time.perf_counter() - t0 < 120:
        app.processEvents()
    settle_heap()  # as `specimask gui` does
    for _ in range(200):  # let the first draw and the reading ahead settle
        app.processEvents()
        time.sleep(0.005)
    stalls, waits = walk_batch(app, viewer, w, pace_s)
    saved = sum(1 for r in annotate.session.project.images() if r.status == "labeled")
    print(f"{label:<28} {len(stalls) + 1:>6} beats  p99 {np.percentile(stalls, 99):6.1f} ms"
          f"  longest {stalls.max():6.1f} ms  median {np.median(stalls):4.1f} ms;"
          f"  next sheet shown after {np.median(waits) * 1000:5.0f} ms median "
          f"({max(waits) * 1000:5.0f} ms at most); {saved} saved")
    viewer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sheets", nargs="?", type=Path, default=SHEETS)
    parser.add_argument("--sheets", dest="n", type=int, default=8)
    parser.add_argument("--only", choices=("small", "large"))
    args = parser.parse_args()
    chosen = sorted(args.sheets.glob("*.jpg"))[: args.n]
    tmp = Path(tempfile.mkdtemp(prefix="specimask-stalls-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    print(f"{len(chosen)} real sheets from {args.sheets}; a stroke and Alt-N per sheet")
    if args.only in (None, "small"):
        measure("sheets as they are (~1 MP)", make_project(tmp / "small", chosen, None), 0.6)
    if args.only in (None, "large"):
        measure("9000 x 6000 (54 MP)", make_project(tmp / "large", chosen, (9000, 6000)),
                2.5)


if __name__ == "__main__":
    main()
