"""The one-click tools on a real herbarium sheet, with screenshots (docs/user-guide.md).

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python scripts/click_tools_screenshots.py

A project of the 10 real Violaceae sheets that have hand-checked reference masks
(benchmarks/reference_masks/violaceae), one of them open in Annotate with its cold-start
proposal. The reference says where the proposal is wrong, and the script acts as a
person who sees that: the cursor on the largest separate blob that is not specimen,
Alt-X (twice); on the largest missed region, Alt-G; then Alt-H on the plant. Prints the
Dice against the reference after each key and writes docs/images/click_tools_before.png
and _after.png.
"""

from __future__ import annotations

import atexit
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
from _screens import Window
from scipy import ndimage as ndi

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "images"
SHEETS = REPO.parent / "shared" / "data" / "violaceae_pool"
REFERENCE = REPO / "benchmarks" / "reference_masks" / "violaceae" / "V01_02_450.png"


def wrong_blob(mask: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """The largest connected object of ``mask`` that is mostly not specimen."""
    labels, n = ndi.label(mask, structure=np.ones((3, 3), bool))
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    good = np.bincount(labels[truth], minlength=n + 1)
    wrong = [i for i in range(1, n + 1) if good[i] < 0.2 * sizes[i]]
    return labels == max(wrong, key=lambda i: sizes[i]) if wrong else np.zeros_like(mask)


def largest(region: np.ndarray) -> tuple[float, float] | None:
    """A pixel inside the largest connected part of ``region`` (its most inner one)."""
    labels, n = ndi.label(region)
    if n == 0:
        return None
    biggest = labels == (np.bincount(labels.ravel())[1:].argmax() + 1)
    inner = ndi.distance_transform_edt(biggest)
    r, c = np.unravel_index(inner.argmax(), inner.shape)
    return float(r), float(c)


def main(sheet: Path) -> None:
    from qtpy.QtCore import Qt

    from napari_specimask.core.io.images import read_mask
    from napari_specimask.core.masks.metrics import dice_iou

    scratch = Path(tempfile.mkdtemp(prefix="specimask-click-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    (scratch / "sheets").mkdir()
    for ref in sorted(REFERENCE.parent.glob("*.png")):
        shutil.copy(sheet.parent / f"{ref.stem}.jpg", scratch / "sheets")
    win = Window()
    win.widgets["Project"].new_project(scratch / "p", scratch / "sheets")
    win.wait(lambda: "cold-start proposals" in win.widgets["Project"].title.text())
    project = win.session.project
    win.session.show_requested.emit(next(r.id for r in project.images()
                                         if r.name == REFERENCE.stem))
    win.wait(lambda: True)
    labels = win.viewer.layers["mask"]
    truth = read_mask(REFERENCE, labels.data.shape)
    canvas = win.viewer.window._qt_viewer.canvas.native

    def dice() -> float:
        return dice_iou(labels.data > 0, truth)[0]

    print(f"proposal: Dice {dice():.3f}")
    win.shot("Annotate", OUT / "click_tools_before.png")
    for key, region in ((Qt.Key.Key_X, lambda m: wrong_blob(m, truth)),  # not specimen
                        (Qt.Key.Key_X, lambda m: wrong_blob(m, truth)),
                        (Qt.Key.Key_G, lambda m: truth & ~m),   # missed region: grow
                        (Qt.Key.Key_H, lambda m: truth & m)):   # the plant: fill holes
        point = largest(region(labels.data > 0))
        if point is None:
            continue
        win.viewer.cursor.position = point
        win.app.processEvents()
        from qtpy.QtTest import QTest

        QTest.keyClick(canvas, key, Qt.KeyboardModifier.AltModifier)
        win.wait(lambda: True)
        print(f"Alt-{chr(key.value)} at {point}: {win.widgets['Annotate'].tool_note.text()}; "
              f"Dice {dice():.3f}")
    win.shot("Annotate", OUT / "click_tools_after.png")
    win.viewer.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SHEETS / f"{REFERENCE.stem}.jpg")
