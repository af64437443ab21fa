"""Render the figures in docs/ from the demo set (run: .venv/bin/python scripts/docs_figures.py).

docs/images/coldstart.png: for two herbarium sheets and two plankton crops, the image, the
true mask, and each cold-start method's proposal (with the default post-processing).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from napari_specimask.core.coldstart import METHODS, ColdStart
from napari_specimask.core.demo_data import demo_samples
from napari_specimask.core.evaluate import dice_iou

OUT = Path(__file__).resolve().parents[1] / "docs" / "images"
CELL = 150


def overlay(img: np.ndarray, mask: np.ndarray, colour=(255, 0, 200)) -> np.ndarray:
    out = img.astype(np.float32).copy()
    out[mask] = 0.45 * out[mask] + 0.55 * np.array(colour, np.float32)
    return out.astype(np.uint8)


def tile(arr: np.ndarray, caption: str) -> Image.Image:
    im = Image.fromarray(arr)
    im.thumbnail((CELL, CELL))
    canvas = Image.new("RGB", (CELL, CELL + 16), (255, 255, 255))
    canvas.paste(im, ((CELL - im.width) // 2, 16 + (CELL - im.height) // 2))
    ImageDraw.Draw(canvas).text((3, 2), caption, fill=(0, 0, 0))
    return canvas


def main() -> None:
    samples = demo_samples()
    picks = [s for s in samples if s.kind == "herbarium"][:2] + \
        [s for s in samples if s.kind == "plankton"][1:3]
    rows = []
    for s in picks:
        cells = [tile(s.image, s.name), tile(overlay(s.image, s.mask, (0, 200, 0)), "truth")]
        for method in METHODS:
            mask = ColdStart(method)(s.image)
            cells.append(tile(overlay(s.image, mask), f"{method} {dice_iou(mask, s.mask)[0]:.2f}"))
        rows.append(cells)
    sheet = Image.new("RGB", (CELL * len(rows[0]), (CELL + 16) * len(rows)), (255, 255, 255))
    for r, cells in enumerate(rows):
        for c, cell in enumerate(cells):
            sheet.paste(cell, (c * CELL, r * (CELL + 16)))
    OUT.mkdir(parents=True, exist_ok=True)
    sheet.save(OUT / "coldstart.png")
    print(OUT / "coldstart.png")


if __name__ == "__main__":
    main()
