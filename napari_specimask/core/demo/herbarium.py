"""Synthetic herbarium sheets: a pressed plant plus the label, colour chart and ruler
that real scans carry and that are *not* specimen (so a method must learn to leave them out).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .shapes import fill_rect, fit, paint, smooth_field, stroke, unit, walk

_CHART = [(20, 20, 22), (245, 245, 242), (128, 128, 128), (200, 30, 35), (40, 150, 60),
          (35, 60, 170), (240, 200, 30), (40, 170, 200), (190, 50, 150), (230, 120, 30)]
_GREENS = [(78, 96, 48), (96, 112, 58), (60, 78, 42), (112, 108, 62), (70, 88, 60),
           (120, 120, 70)]
_PETALS = [(230, 190, 40), (160, 80, 150), (215, 110, 140), (200, 90, 50), (120, 90, 170)]


def _plant(rng) -> list:
    """Plant in a unit frame (base at origin, growing up): (prims, colour, opacity)."""
    stem_col = np.array([92, 84, 50]) + rng.normal(0, 8, 3)
    leaf_col = np.array(_GREENS[rng.integers(len(_GREENS))]) + rng.normal(0, 6, 3)
    leaf_len, leaf_ratio = rng.uniform(0.14, 0.24), rng.uniform(0.28, 0.5)
    pointed, r0 = rng.random() < 0.65, rng.uniform(0.009, 0.014)
    main = walk(rng, (0.0, 0.0), -np.pi / 2 + rng.normal(0, 0.12), 1.0, 16, 0.04)
    axes = [(main, r0, r0 * 0.35)]
    for j in rng.choice(np.arange(3, 13), rng.integers(2, 6), replace=False):
        d = main[j + 1] - main[j]
        th = np.arctan2(d[0], d[1]) + rng.choice([-1, 1]) * rng.uniform(0.45, 1.0)
        branch = walk(rng, main[j], th, rng.uniform(0.22, 0.45), 8, 0.06)
        axes.append((branch, r0 * 0.6, r0 * 0.3))
    stems, leaves, flowers = [], [], []
    for pts, ra, rb in axes:
        stems += stroke(pts, (ra, rb))
        side = rng.choice([-1, 1])
        for k in range(2, len(pts) - 1, int(rng.integers(1, 3))):
            d = pts[k + 1] - pts[k]
            th = np.arctan2(d[0], d[1]) + side * rng.uniform(0.5, 1.1)
            side = -side
            a = 0.5 * leaf_len * rng.uniform(0.7, 1.2) * (1.0 - 0.35 * k / len(pts))
            c = pts[k] + unit(th) * (a + 0.015)
            stems += stroke([pts[k], pts[k] + unit(th) * 0.02], (0.004, 0.003))
            shade = rng.uniform(0.8, 1.15) * (0.6 if rng.random() < 0.2 else 1.0)
            blade = ("lens" if pointed else "ell", c, th, a, a * leaf_ratio)
            leaves.append(([blade], leaf_col * shade, 1.0))
            vein = stroke([c - unit(th) * a * 0.8, c + unit(th) * a * 0.6], (0.0015, 0.001))
            leaves.append((vein, np.minimum(leaf_col * shade * 1.4, 235), 0.45))  # midrib
        if rng.random() < 0.45:  # flower head at the tip
            tip, col = pts[-1], np.array(_PETALS[rng.integers(len(_PETALS))], float)
            n, pr = int(rng.integers(5, 8)), rng.uniform(0.022, 0.035)
            angles = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 6.3)
            petals = [("ell", tip + unit(t) * pr, t, pr, pr * 0.45) for t in angles]
            centre = [("ell", tip, 0.0, pr * 0.4, pr * 0.4)]
            flowers += [(petals, col, 1.0), (centre, col * 0.55, 1.0)]
    parts = [(stems, stem_col, 1.0)] + leaves + flowers
    if rng.random() < 0.5:  # a few thin roots below the base
        roots = []
        for _ in range(int(rng.integers(3, 6))):
            th = np.pi / 2 + rng.uniform(-0.7, 0.7)
            root = walk(rng, (0.0, 0.0), th, rng.uniform(0.06, 0.16), 6, 0.15)
            roots += stroke(root, (0.004, 0.0015))
        parts.insert(0, (roots, np.array([120, 95, 65.0]), 1.0))
    return parts


def make_herbarium_sheet(
    rng: np.random.Generator, height: int = 360, width: int = 240
) -> tuple[np.ndarray, np.ndarray]:
    """Scanned herbarium sheet; the label, colour chart and ruler are not in the mask."""
    h, w = int(height), int(width)
    if h < 120 or w < 80:
        raise ValueError(f"herbarium sheet too small: {h}x{w} (need at least 120x80)")
    aged = rng.uniform(0, 14)  # old paper yellows: less blue, a little less green
    paper = np.array([241.0, 234, 216]) - aged * np.array([0, 0.35, 1]) + rng.normal(0, 3)
    img = np.ones((h, w, 3)) * (paper + rng.normal(0, 1.2, 3))
    mask = np.zeros((h, w), bool)
    top, left = _colour_chart(rng, img)
    ruler_top = _ruler(rng, img)
    label_top = _label(rng, img)
    # plant, fitted into the free region between the distractors
    bottom = min(label_top, ruler_top - 6) - 8
    box = (top + 8, bottom, left + 8, w - 8)
    parts = _plant(rng)
    placed = fit(rng, [p for p, _, _ in parts], box, 0.6, fill=(0.85, 0.98))
    for prims, (_, col, op) in zip(placed, parts):
        paint(img, mask, prims, np.clip(col, 0, 255), op)
    _texture_and_light(rng, img)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), mask


def _colour_chart(rng, img) -> tuple[int, int]:
    """A strip of patches on a dark backing along the top or left edge; (top, left) free."""
    h, w = img.shape[:2]
    sq = max(int(round(min(h, w) * rng.uniform(0.05, 0.065))), 6)
    n = int(rng.integers(7, len(_CHART) + 1))
    if horiz := rng.random() < 0.5:
        y0, x0, dy, dx = rng.integers(3, 8), rng.integers(4, max(5, w - n * sq - 8)), 0, sq
    else:
        y0, x0, dy, dx = rng.integers(4, 20), rng.integers(3, 8), sq, 0
    y0, x0 = int(y0), int(x0)
    y1, x1 = y0 + (n - 1) * dy + sq + 2, x0 + (n - 1) * dx + sq + 2
    fill_rect(img, y0 - 2, y1, x0 - 2, x1, (35, 35, 38))
    for i in range(n):
        y, x = y0 + i * dy, x0 + i * dx
        fill_rect(img, y + 1, y + sq - 1, x + 1, x + sq - 1, _CHART[i])
    return (y0 + sq + 2, 0) if horiz else (0, x0 + sq + 2)


def _ruler(rng, img) -> int:
    """Black/white segmented bar with ticks along the bottom-left edge; its top row."""
    h, w = img.shape[:2]
    rl, rh = int(w * rng.uniform(0.35, 0.48)), int(rng.integers(6, 10))
    ry1, rx0 = h - int(rng.integers(3, 8)), int(rng.integers(3, 10))
    fill_rect(img, ry1 - rh - 1, ry1 + 1, rx0 - 1, rx0 + rl + 1, (15, 15, 15))
    nseg = int(rng.integers(5, 9))
    for i in range(nseg):
        if i % 2:
            x0, x1 = rx0 + i * rl // nseg, rx0 + (i + 1) * rl // nseg
            fill_rect(img, ry1 - rh, ry1, x0, x1, (248, 248, 245))
    for i, x in enumerate(np.linspace(rx0, rx0 + rl - 1, 5 * nseg + 1).astype(int)):
        fill_rect(img, ry1 - rh - (6 if i % 5 == 0 else 3), ry1 - rh, x, x + 1, (15, 15, 15))
    return ry1 - rh


def _label(rng, img) -> int:
    """White card with a border and lines of dark text-like strokes; its top row."""
    h, w = img.shape[:2]
    lw, lh = int(w * rng.uniform(0.38, 0.48)), int(h * rng.uniform(0.12, 0.16))
    ly1, lx1 = h - int(rng.integers(4, 12)), w - int(rng.integers(4, 12))
    ly0, lx0 = ly1 - lh, lx1 - lw
    fill_rect(img, ly0 - 1, ly1 + 1, lx0 - 1, lx1 + 1, (150, 148, 140))
    fill_rect(img, ly0, ly1, lx0, lx1, (251, 250, 245))
    nl = int(rng.integers(4, 7))
    ink = np.array([28, 28, 40.0]) + rng.normal(0, 5, 3)
    for li in range(nl):
        y = ly0 + 4 + li * (lh - 8) // nl
        x, x_end = lx0 + 4, lx0 + 4 + int((lw - 8) * rng.uniform(0.5, 0.95))
        while x < x_end:
            ww = int(rng.integers(3, 14))
            fill_rect(img, y, y + (3 if li == 0 else 2), x, min(x + ww, x_end), ink)
            x += ww + int(rng.integers(2, 5))
    return ly0


def _texture_and_light(rng, img) -> None:
    """Paper/leaf texture, uneven illumination and sensor noise, in place."""
    h, w = img.shape[:2]
    tex = ndi.gaussian_filter(rng.standard_normal((h, w)), 1.0) * 0.05
    tex += smooth_field(rng, h, w, 5) * 0.012
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    cy, cx = rng.uniform(0.3, 0.7, 2) * np.array([h, w]) / max(h, w)
    light = 1.0 + rng.uniform(-0.05, 0.05) * (yy - 0.5) + rng.uniform(-0.04, 0.04) * (xx - 0.3)
    light -= rng.uniform(0.04, 0.09) * ((yy - cy) ** 2 + (xx - cx) ** 2)
    img *= (light * (1.0 + tex))[..., None]
    img += rng.normal(0, 1.2, (h, w, 1)) + rng.normal(0, 0.8, (h, w, 3))
