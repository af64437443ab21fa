"""How does a project of a million images feel: open, status, select, the GUI's first image?

    .venv/bin/python benchmarks/million_images.py [--sizes 10000,100000,1000000]
    xvfb-run -a .venv/bin/python benchmarks/million_images.py --gui   # + the GUI

For each size, builds a synthetic project (the rows are synthetic, the files real: every
row names one of a thousand 64 px PNGs through a thousand linked folders, so any image a
command reads exists), with 1 % labelled, 20 queued in an open iteration, an active 64 px
model and the pool scored by it (as after `specimask score`), then times, each in a fresh
process as a person would run them:

- ``Project.open`` and ``summary()`` in this process;
- ``specimask status PROJECT`` and ``specimask select PROJECT --strategy stochastic
  --n-batches 50 --batch-size 20`` (draw mode: 1,000 drawn, the best batch queued with
  its proposals written), wall time with Python's start-up;
- with ``--gui``: napari with the widgets docked, then the project opened, until the
  Annotate widget shows the first queued image and until the Project table has its
  order; then the table's refresh (what every save triggers), a sort by score and the
  filter "labeled", each until shown; with each, the GUI thread's longest stall (how
  long a click or a brush stroke could have waited).

The building is timed too, but it is not a figure of the product (rows go in by SQL).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from napari_specimask.core.active.scoring import ScoreSpec
from napari_specimask.core.io.images import save_mask_png
from napari_specimask.core.store.db import now
from napari_specimask.core.store.project import Project

SPECIMASK = str(Path(sys.executable).with_name("specimask"))
FILES = 1000  # distinct image files; rows reach them through FILES linked folders
SPEC = ScoreSpec()  # what `specimask score` caches by default


def build(root: Path, n: int, labelled: float = 0.01, queued: int = 20) -> None:
    """A project of ``n`` image rows, each naming a real file (see the module doc)."""
    from PIL import Image

    project = Project.create(root)
    files = root / "images" / "files"
    files.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for j in range(FILES):
        Image.fromarray(rng.integers(0, 255, (48, 64, 3), np.uint8)).save(files / f"{j}.png")
    for k in range(-(-n // FILES)):
        os.symlink("files", root / "images" / f"d{k}")
    mask = root / "annotations" / "shared.png"
    save_mask_png(mask, np.zeros((48, 64), bool))
    n_labelled = int(n * labelled)
    stamp = now()
    with project.store.transaction() as conn:
        conn.executemany(
            "INSERT INTO images (id, relpath, sha256, height, width, bytes, role, status,"
            " added_at) VALUES (?, ?, ?, 48, 64, 900, ?, ?, ?)",
            ((i, f"images/d{(i - 1) // FILES}/{(i - 1) % FILES}.png", f"{i:064x}",
              "val" if i % 50 == 0 else "pool",
              "labeled" if i <= n_labelled else "unlabeled", stamp) for i in range(1, n + 1)))
        conn.executemany(
            "INSERT INTO annotations (image_id, origin, mask_path, foreground_fraction,"
            " author, created_at) VALUES (?, 'hand', 'annotations/shared.png', 0, 'b', ?)",
            ((i, stamp) for i in range(1, n_labelled + 1)))
    version = _model(project)
    pool = project.image_ids(role="pool", status="unlabeled")
    with project.store.transaction() as conn:
        conn.executemany(
            "INSERT INTO scores (image_id, model_version, measure, views, score, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            ((i, version, SPEC.measure, SPEC.views_key, float(s), stamp)
             for i, s in zip(pool, rng.random(len(pool)))))
    from napari_specimask.core.store.iterations import record_iteration_and_queue

    record_iteration_and_queue(
        project, strategy="random", seed=0, batch_size=queued, model_version=version,
        params={}, chosen=[(i, None) for i in pool[:queued]], batch_score=None,
        proposals={})
    project.close()


def _model(project: Project) -> str:
    """A 64 px Unet/resnet18 with random weights, registered and active."""
    from napari_specimask.core.model.factory import create_model
    from napari_specimask.core.model.weights import ModelConfig, save_weights
    from napari_specimask.core.store.registry import activate, finish_version, new_version

    config = ModelConfig(encoder="resnet18", img_size=64)
    version = new_version(project, None, 0, [], asdict(config))
    model = create_model(config.arch, config.encoder, encoder_weights=None)
    save_weights(project.root / "models" / version, model.state_dict(), config)
    finish_version(project, version, "ready", {"best_val_dice": 0.5})
    activate(project, version)
    return version


def timed(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-2000:]}")
    return seconds, out.stdout


def measure(root: Path, gui: bool) -> dict:
    t0 = time.perf_counter()
    with Project.open(root) as project:
        t1 = time.perf_counter()
        project.summary()
        t2 = time.perf_counter()
    out = {"open_s": t1 - t0, "summary_s": t2 - t1}
    out["status_s"], _ = timed([SPECIMASK, "status", str(root)])
    out["select_s"], text = timed([SPECIMASK, "select", str(root), "--strategy", "stochastic",
                                   "--n-batches", "50", "--batch-size", "20", "--json"])
    out["selected"] = len(json.loads(text)["chosen"])
    if gui:
        seconds, text = timed([sys.executable, __file__, "--gui-child", str(root)])
        out.update(json.loads(text.strip().splitlines()[-1]))
    return out


class Heartbeat:
    """The GUI thread's longest stall: a 5 ms timer that records how late it fires."""

    def __init__(self):
        from qtpy.QtCore import QTimer

        self.last, self.worst = time.perf_counter(), 0.0
        self.timer = QTimer(interval=5)
        self.timer.timeout.connect(self._beat)
        self.timer.start()

    def _beat(self) -> None:
        now = time.perf_counter()
        self.worst, self.last = max(self.worst, now - self.last), now

    def lap(self) -> float:
        worst, self.worst = self.worst, 0.0
        return worst


def until(condition, what: str) -> float:
    """Run the event loop until ``condition()``; the seconds that took."""
    from qtpy.QtWidgets import QApplication

    t0 = time.perf_counter()
    while not condition():
        QApplication.processEvents()
        if time.perf_counter() - t0 > 600:
            raise SystemExit(f"{what} did not happen within 600 s")
    QApplication.processEvents()  # and what it changed painted
    return time.perf_counter() - t0


def gui_child(root: Path) -> None:
    """In its own process: napari and the widgets first, then open the project; prints
    seconds until each thing shows and the GUI thread's longest stall meanwhile."""
    import napari
    from qtpy.QtCore import Qt

    from napari_specimask._launch import dock_widgets, raise_tab
    from napari_specimask._widgets._session import session_for

    t0 = time.perf_counter()
    viewer = napari.Viewer(show=True)
    widgets = dock_widgets(viewer)
    until(lambda: True, "napari")
    out = {"napari_s": time.perf_counter() - t0}
    annotate, table, beat = widgets["Annotate"], widgets["Project"], Heartbeat()
    t1 = time.perf_counter()
    session_for(viewer).open(root)
    out["first_image_s"] = time.perf_counter() - t1 + until(
        lambda: annotate.image_id is not None and "image" in viewer.layers, "the image")
    out["table_s"] = time.perf_counter() - t1 + until(lambda: not table.model.loading,
                                                      "the table")
    out["open_stall_s"] = beat.lap()
    raise_tab(viewer, "Project")
    steps = {"refresh": session_for(viewer).images_changed.emit,  # after every save
             "sort_score": lambda: table.table.sortByColumn(4, Qt.SortOrder.DescendingOrder),
             "filter": lambda: table.model.set_text("labeled")}
    for name, step in steps.items():
        until(lambda: True, "painting")
        beat.lap()
        t = time.perf_counter()
        step()
        out[f"{name}_s"] = time.perf_counter() - t + until(lambda: not table.model.loading,
                                                            name)
        out[f"{name}_stall_s"] = beat.lap()
    out["table_rows"] = table.model.rowCount()
    print(json.dumps(out))
    viewer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--gui", action="store_true", help="time the GUI too (needs X)")
    parser.add_argument("--gui-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.gui_child:
        return gui_child(args.gui_child)
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "big"
            t0 = time.perf_counter()
            build(root, n)
            built = time.perf_counter() - t0
            r = measure(root, args.gui)
            db = (root / "specimask.db").stat().st_size / 1e6
            gui = ("\n    GUI: napari {napari_s:.1f} s; open to first image {first_image_s:.2f} s,"
                   " table shown {table_s:.2f} s (GUI stalled at most {open_stall_s:.2f} s);"
                   " refresh {refresh_s:.2f} s ({refresh_stall_s:.2f}), sort by score"
                   " {sort_score_s:.2f} s ({sort_score_stall_s:.2f}), filter 'labeled'"
                   " {filter_s:.2f} s ({filter_stall_s:.2f}) to {table_rows:,} rows"
                   ).format(**r) if args.gui else ""
            print(f"{n:>9,} images ({db:.0f} MB db, built in {built:.0f} s): open "
                  f"{r['open_s']:.2f} s, summary {r['summary_s']:.2f} s, `status` "
                  f"{r['status_s']:.2f} s, `select` draw 50x20 {r['select_s']:.2f} s "
                  f"({r['selected']} queued){gui}", flush=True)


if __name__ == "__main__":
    main()
