"""Corrective mode and continuous training on real herbarium sheets (docs/user-guide.md).

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python scripts/corrective_screenshots.py

A project of the 10 real Violaceae sheets with hand-checked reference masks
(benchmarks/reference_masks/violaceae), all ten queued with their cold-start proposals.
On the first sheet the script acts as a person who sees the errors (the reference says
where they are) in corrective mode: Alt-X on the colour chart (marked orange), the add
brush (Alt-D) along the largest missed part, the remove brush (Alt-R) over the largest
remaining wrong part; prints the Dice after each and writes
docs/images/corrective_mode.png. Then, with "train while I annotate" ticked (every 2
saves, 2 epochs at 128 px, CPU), it saves three sheets with Alt-N, shoots the window
while the fine-tuning runs (docs/images/continuous_training.png, the activity dock open)
and prints what the run came to.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _screens import Window
from click_tools_screenshots import largest, wrong_blob
from qtpy.QtCore import Qt
from qtpy.QtTest import QTest

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "images"
SHEETS = REPO.parent / "shared" / "data" / "violaceae_pool"
REFERENCES = REPO / "benchmarks" / "reference_masks" / "violaceae"
FIRST = "V01_02_450"
ALT = Qt.KeyboardModifier.AltModifier


def open_project(win: Window, scratch: Path):
    from napari_specimask.core.active.queue import select_next
    from napari_specimask.core.progress import run

    (scratch / "sheets").mkdir()
    for ref in sorted(REFERENCES.glob("*.png")):
        shutil.copy(SHEETS / f"{ref.stem}.jpg", scratch / "sheets")
    win.widgets["Project"].new_project(scratch / "p", scratch / "sheets")
    win.wait(lambda: "cold-start proposals" in win.widgets["Project"].title.text())
    project = win.session.project
    project.settings.model.img_size, project.settings.model.encoder_weights = 128, "none"
    project.settings.continuous.epochs = 2
    project.save_settings()
    chosen = [i for i, _ in run(select_next(project, "random", 10)).chosen]
    first = next(r.id for r in project.images() if r.name == FIRST)
    win.session.set_queue([first] + [i for i in chosen if i != first])
    win.wait(lambda: True)
    return project


def brush_along(layer, region: np.ndarray, label: int, n: int = 12) -> None:
    """Strokes of the layer's brush over ``n`` points of ``region``'s largest part."""
    from scipy import ndimage as ndi

    parts, k = ndi.label(region)
    if k == 0:
        return
    biggest = np.argwhere(parts == np.bincount(parts.ravel())[1:].argmax() + 1)
    for r, c in biggest[np.linspace(0, len(biggest) - 1, n).astype(int)]:
        layer.paint((r, c), label)


def correct_first(win: Window, project) -> None:
    from napari_specimask.core.io.images import read_mask
    from napari_specimask.core.masks.metrics import dice_iou

    annotate, canvas = win.widgets["Annotate"], win.viewer.window._qt_viewer.canvas.native
    truth = read_mask(REFERENCES / f"{FIRST}.png", win.viewer.layers["mask"].data.shape)
    annotate.corrective.toggle.setChecked(True)
    marks = win.viewer.layers["corrections"]

    def dice() -> str:
        return f"Dice {dice_iou(annotate.mask, truth)[0]:.3f}"

    print(f"{FIRST}: cold-start proposal, {dice()}")
    win.viewer.cursor.position = largest(wrong_blob(annotate.mask, truth))
    QTest.keyClick(canvas, Qt.Key.Key_X, ALT)
    print(f"Alt-X on the colour chart: {annotate.tool_note.text()}; {dice()}")
    QTest.keyClick(canvas, Qt.Key.Key_D, ALT)
    brush_along(marks, truth & ~annotate.mask, marks.selected_label)
    print(f"Alt-D, 12 dabs along the largest missed part: {dice()}")
    QTest.keyClick(canvas, Qt.Key.Key_R, ALT)
    brush_along(marks, annotate.mask & ~truth, marks.selected_label)
    print(f"Alt-R, 12 dabs over the largest wrong part: {dice()}; corrections: "
          f"+{int((marks.data == 1).sum())} / -{int((marks.data == 2).sum())} px")
    win.shot("Annotate", OUT / "corrective_mode.png")
    shown = annotate.image_id
    QTest.keyClick(canvas, Qt.Key.Key_N, ALT)
    win.wait(lambda: True)
    ann = project.annotations(shown)[-1]
    print(f"Alt-N: saved as {ann['origin']} (+{ann['pixels_added']} / "
          f"-{ann['pixels_removed']} px); {annotate.progress.text()}")


def continuous(win: Window, project) -> None:
    annotate, canvas = win.widgets["Annotate"], win.viewer.window._qt_viewer.canvas.native
    cont = annotate.continuous
    annotate.corrective.toggle.setChecked(False)
    cont.every.setValue(2)
    cont.toggle.setChecked(True)  # the first save already counts: one more starts a run
    dialog = win.viewer.window._qt_window._activity_dialog  # the status bar's activity
    dialog.show()
    dialog.move_to_bottom_right()
    for _ in range(2):
        QTest.keyClick(canvas, Qt.Key.Key_N, ALT)
        win.wait(lambda: True)
    t0 = time.perf_counter()
    win.wait(lambda: "epoch" in cont.status.text() or not cont.running, timeout=300)
    win.shot("Annotate", OUT / "continuous_training.png")
    print(f"while it trains: {cont.status.text()}")
    win.wait(lambda: not cont.running, timeout=900)
    print(f"after {time.perf_counter() - t0:.0f} s: {cont.status.text()}")


def main() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="specimask-corrective-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    win = Window()
    project = open_project(win, scratch)
    correct_first(win, project)
    continuous(win, project)
    win.viewer.close()


if __name__ == "__main__":
    sys.exit(main())
