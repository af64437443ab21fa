"""Render the figures in docs/ from the demo set (run: .venv/bin/python scripts/docs_figures.py).

docs/images/coldstart.png: for two herbarium sheets and two plankton crops, the image, the
true mask, and each cold-start method's proposal (with the default post-processing).
docs/images/augment.png: each augmentation preset applied six times to one letterboxed
demo image, with the augmented mask outlined.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from napari_specimask.core.coldstart.methods import METHODS, ColdStart
from napari_specimask.core.demo.samples import demo_samples
from napari_specimask.core.masks.metrics import dice_iou

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


def outline(img: np.ndarray, mask: np.ndarray, colour=(0, 220, 0)) -> np.ndarray:
    from scipy import ndimage as ndi

    edge = mask & ~ndi.binary_erosion(mask, iterations=2)
    out = img.copy()
    out[edge] = colour
    return out


def augment_figure() -> None:
    from napari_specimask.core.masks.letterbox import Letterbox
    from napari_specimask.core.training.augment import PRESETS, Augmentation

    samples = demo_samples()
    sheet = samples[1]
    # references stand in for the project's unlabelled target pool: other sheets
    refs = [Letterbox.fit(*s.image.shape[:2], 192).apply(s.image)
            for s in samples if s.kind == "herbarium" and s is not sheet][:8]
    lb = Letterbox.fit(*sheet.image.shape[:2], 192)
    img, mask = lb.apply(sheet.image), lb.apply_mask(sheet.mask).astype(np.uint8)
    rows = []
    for preset in PRESETS:
        aug = Augmentation(preset, refs if preset == "specialized" else ())
        aug.compose.set_random_seed(7)
        cells = [tile(outline(img, mask.astype(bool)), f"{preset}: input")]
        for k in range(6):
            a_img, a_mask = aug(img, mask)
            cells.append(tile(outline(a_img, a_mask.astype(bool)), f"{preset} #{k + 1}"))
        rows.append(cells)
    save_grid(rows, OUT / "augment.png")


def save_grid(rows: list[list[Image.Image]], path: Path) -> None:
    sheet = Image.new("RGB", (CELL * len(rows[0]), (CELL + 16) * len(rows)), (255, 255, 255))
    for r, cells in enumerate(rows):
        for c, cell in enumerate(cells):
            sheet.paste(cell, (c * CELL, r * (CELL + 16)))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    print(path)


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
    save_grid(rows, OUT / "coldstart.png")
    augment_figure()


if __name__ == "__main__":
    main()
