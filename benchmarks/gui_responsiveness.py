"""Is the viewer responsive while specimask works? A heartbeat on the Qt event loop.

    xvfb-run -a python benchmarks/gui_responsiveness.py

A QTimer fires every 10 ms on the GUI thread; a stall is how late a beat comes
(interval - 10 ms). Three scenarios on the demo project, widgets docked as a person has
them: (a) training on CPU in the Train widget's worker, (b) TTA prediction of images
(Predictions widget worker, 8 views), (c) the person navigating 50 images (Annotate,
with the Predictions widget showing cached maps), (d) the person saving and moving on
every 0.3 s with continuous training on (a short fine-tuning after every 4 saves, in a
worker, then new proposals for the rest of the batch). Then: opening a project of 10,000
images until its first image is shown.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))


def heartbeat(app, run_for, until=None, period_ms=10):
    """Run the event loop, beating every period; return stalls in ms."""
    from qtpy.QtCore import QTimer

    beats = []
    timer = QTimer()
    timer.setInterval(period_ms)
    timer.timeout.connect(lambda: beats.append(time.perf_counter()))
    timer.start()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < run_for and not (until and until()):
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    gaps = np.diff(beats) * 1000 - period_ms
    return np.clip(gaps, 0, None)


def report(name, stalls):
    print(f"{name:<44} beats {len(stalls) + 1:>5}  longest stall {stalls.max():6.1f} ms  "
          f"p99 {np.percentile(stalls, 99):5.1f} ms  median {np.median(stalls):4.1f} ms")


def main() -> None:
    import napari

    from napari_specimask._launch import dock_widgets
    from napari_specimask._widgets._process import settle_heap
    from napari_specimask._widgets._session import session_for
    from napari_specimask.core.demo.project import create_demo_project
    from napari_specimask.core.io.images import read_mask
    from napari_specimask.core.progress import run
    from napari_specimask.core.store.registry import activate, list_models
    from napari_specimask.core.training.config import TrainConfig
    from napari_specimask.core.training.fit import train

    tmp = Path(tempfile.mkdtemp(prefix="specimask-bench-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    demo = tmp / "demo"
    project = run(create_demo_project(demo))
    for rec in project.images(role="pool")[:16]:
        project.save_mask(rec.id, read_mask(demo / "truth" / f"{rec.name}.png"), "hand")
    cfg = TrainConfig.from_settings(project.settings, img_size=128, epochs=1, max_steps=4,
                                    encoder_weights="none", patience=0)
    activate(project, train(project, cfg).version)
    project.close()

    viewer = napari.Viewer()
    app = napari.qt.get_qapp()
    w = dock_widgets(viewer)
    w["Project"].open_project(demo)
    session = session_for(viewer)
    session.set_queue([r.id for r in session.project.images()][:50])
    settle_heap()  # as `specimask gui` does once its widgets are docked
    heartbeat(app, 2.0)  # settle

    # (a) training on CPU in the background
    t = w["Train"]
    t.form.encoder_weights.value = "none"
    t.form.img_size.value = 128
    t.form.epochs.value = 3
    t.activate_when.value = "never"
    t.start()
    report("(a) training, 128 px, CPU", heartbeat(app, 120, until=lambda: t.worker is None))

    # (b) TTA prediction in the background: 8 views, every queued image
    from napari_specimask._widgets._jobs import start_job
    from napari_specimask.core.inference.cache import compute_predictions

    version, ids = session.active_model, list(session.queue)
    job = start_job(lambda: compute_predictions(session.project, version, ids, 8))
    done = []
    job.finished.connect(lambda: done.append(True))
    report("(b) TTA prediction, 8 views, 50 images", heartbeat(app, 300, until=lambda: done))

    # (c) a person stepping through 50 images (maps cached by (b))
    from qtpy.QtCore import QTimer

    w["Predictions"].tta.setValue(8)
    annotate = w["Annotate"]
    annotate.show_image(ids[0])
    steps = []
    stepper = QTimer()
    stepper.setInterval(150)
    stepper.timeout.connect(lambda: (annotate.step(1), steps.append(1)))
    stepper.start()
    stalls = heartbeat(app, 60, until=lambda: len(steps) >= 49)
    stepper.stop()
    report("(c) navigating 50 images (cached maps)", stalls)

    # (d) continuous training on: the person saves and moves on every 0.3 s while short
    # fine-tuning runs start after every 4 saves and refresh the rest of the batch
    from napari_specimask.core.active.queue import select_next

    project = session.project
    project.settings.model.img_size, project.settings.model.encoder_weights = 128, "none"
    project.settings.continuous.every, project.settings.continuous.epochs = 4, 2
    batch = run(select_next(project, "random", 16)).chosen
    session.set_queue([i for i, _ in batch])
    cont = annotate.continuous
    cont.every.setValue(4)
    cont.toggle.setChecked(True)
    rounds, saves = [], []
    was_running = [False]

    def watch_rounds():
        if was_running[0] and not cont.running:
            rounds.append(1)
        was_running[0] = cont.running

    saver = QTimer()
    saver.setInterval(300)
    def save_one():
        watch_rounds()
        if len(saves) < 15:  # the batch's 16th image stays open
            annotate.save_and_next()
            saves.append(1)

    saver.timeout.connect(save_one)
    saver.start()
    stalls = heartbeat(app, 300, until=lambda: len(saves) >= 15 and not cont.running)
    saver.stop()
    n_models = len(list_models(project))
    report("(d) saving every 0.3 s, continuous training", stalls)
    print(f"    {len(saves)} saves, {n_models - 2} fine-tuning run(s), {len(rounds)} ended "
          f"while saving; last: {cont.status.text()}")

    # opening a project of 10,000 images until its first image is shown
    big = make_big_project(tmp / "big", 10_000)
    t0 = time.perf_counter()
    w["Project"].open_project(big)
    session.show_requested.emit(session.project.images_by_id([1])[0].id)
    app.processEvents()
    dt = time.perf_counter() - t0
    print(f"open a 10,000-image project and show its first image: {dt:.2f} s "
          f"({w['Project'].model.rowCount()} rows in the table)")
    viewer.close()


def make_big_project(root: Path, n: int) -> Path:
    """n real 96 x 128 PNG files, registered as rows (import speed is measured elsewhere)."""
    from _machine import add_image_rows
    from PIL import Image

    from napari_specimask.core.store.project import Project

    folder = root.parent / "big_images"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    base = rng.integers(150, 255, (96, 128, 3), np.uint8)
    for i in range(n):
        Image.fromarray(base).save(folder / f"{i:05d}.png", compress_level=1)
    project = Project.create(root)
    add_image_rows(project, [f"../big_images/{i:05d}.png" for i in range(n)], 96, 128)
    project.close()
    return root


if __name__ == "__main__":
    main()
