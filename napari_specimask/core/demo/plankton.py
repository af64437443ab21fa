"""Synthetic ZooScan-like plankton crops: a faint translucent organism plus a scale bar
(not specimen), the hard case of thin appendages and weak contrast.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi

from .shapes import fit, paint, stroke, unit, walk


def _organism(rng, length: float) -> tuple[list, list, list]:
    """Organism along +x centred near the origin: body, inner and thin parts."""
    L, form = length, rng.choice(3, p=[0.6, 0.2, 0.2])
    if form == 0:  # copepod: prosome ellipse, urosome tail, antennules, legs
        a = L * rng.uniform(0.26, 0.32)
        b = a * rng.uniform(0.32, 0.48)
        th = np.pi + rng.normal(0, 0.1)
        tail = walk(rng, (0.0, -0.8 * a), th, L * rng.uniform(0.25, 0.4), 5, 0.08)
        body = [("ell", np.zeros(2), 0.0, a, b)] + stroke(tail, (0.32 * b, 0.16 * b))
        inner = [[("ell", np.array([0.0, -0.1 * a]), 0.0, 0.6 * a, 0.28 * b)]]
        if rng.random() < 0.5:
            inner.append([("ell", np.array([0.2 * b, 0.35 * a]), 0.0, 0.14 * b, 0.14 * b)])
        thin = []
        for s in (-1, 1):
            th = s * (np.pi / 2 + rng.uniform(0.0, 0.7))
            antenna = walk(rng, (s * 0.4 * b, 0.75 * a), th, L * rng.uniform(0.35, 0.7), 10, 0.05)
            thin += stroke(antenna, (0.7, 0.5))
            thin += stroke([tail[-1], tail[-1] + unit(np.pi + s * 0.35) * L * 0.12], (0.6, 0.5))
        for u in np.linspace(-0.3, 0.25, int(rng.integers(2, 5))) * a:
            p0 = np.array([0.6 * b * np.sqrt(1 - (u / a) ** 2), u])
            leg = unit(np.pi / 2 + rng.uniform(0.3, 0.9)) * L * rng.uniform(0.06, 0.13)
            thin += stroke([p0, p0 + leg], (0.6, 0.5))
    elif form == 1:  # chaetognath-like: long tapered worm with fins and head hooks
        pts = walk(rng, (0.0, -L / 2), rng.normal(0, 0.1), L, 14, 0.03)
        w = L * rng.uniform(0.035, 0.06) * np.sin(np.linspace(0.5, 2.9, len(pts))) + 0.6
        body = stroke(pts[::-1], w[::-1])
        body += [("lens", pts[4] + s * np.array([w[4], 0.0]), s * 0.35, L * 0.08, L * 0.02)
                 for s in (-1, 1)]
        inner = [stroke(pts[3:12], 0.3 * w[3:12])]
        thin = []
        for s in np.linspace(-0.9, 0.9, int(rng.integers(4, 7))):
            thin += stroke([pts[-1], pts[-1] + unit(s) * L * 0.07], (0.7, 0.5))
    else:  # round radiolarian / larva: ellipse with radial spines
        r = L * rng.uniform(0.22, 0.3)
        body = [("ell", np.zeros(2), 0.0, r, r * rng.uniform(0.75, 1.0))]
        inner = [[("ell", np.array([0.0, 0.0]), rng.uniform(0, 3), 0.45 * r, 0.35 * r)]]
        thin = []
        n = int(rng.integers(8, 18))
        for t in np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 1):
            thin += stroke([unit(t) * 0.7 * r, unit(t) * r * rng.uniform(1.3, 1.9)], (0.7, 0.5))
    return body, inner, thin


def make_plankton(
    rng: np.random.Generator, size: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Faint organism on a noisy light background; the scale bar is not in the mask.

    ``size`` fixes a square image; by default height is 96-192 px and width
    differs by up to 30 %.
    """
    if size is None:
        h = int(rng.integers(96, 193))
        w = int(round(h * rng.uniform(0.77, 1.3)))
    else:
        h = w = int(size)
    bg = rng.uniform(225, 245)
    yy, xx = np.mgrid[0:h, 0:w]
    r2 = ((yy - h / 2) / (h / 2)) ** 2 + ((xx - w / 2) / (w / 2)) ** 2
    img = np.full((h, w, 1), bg) * (1.0 - rng.uniform(0.01, 0.03) * r2)[..., None]
    mask = np.zeros((h, w), bool)
    bh, bl = int(rng.integers(2, 4)), int(w * rng.uniform(0.2, 0.35))  # ZooScan scale bar
    img[h - bh :, :bl] = rng.uniform(15, 45)
    body, inner, thin = _organism(rng, min(h, w) * rng.uniform(0.6, 0.85))
    box = (4, h - bh - 5, 4, w - 4)
    rot = rng.uniform(0, 2 * np.pi)
    placed = fit(rng, [body, thin] + inner, box, 0.5, rot=rot, fill=(0.8, 1.0), upscale=False)
    ink = 30.0
    base = rng.uniform(20, 60) / (bg - ink)  # body 20-60 grey levels below the background
    tex = ndi.gaussian_filter(rng.standard_normal((h, w)), 1.5) * 3.0
    paint(img, mask, placed[0], ink, lambda sl: base * (1.0 + 0.35 * tex[sl]), rim=base * 1.2)
    for prims in placed[2:]:  # gut, oil droplet: a bit darker than the body
        paint(img, mask, prims, ink, base * rng.uniform(0.3, 0.6))
    paint(img, mask, placed[1], ink, rng.uniform(0.35, 0.6))
    img += rng.normal(0, rng.uniform(4, 8), (h, w, 1))
    img = img * (1.0 + rng.uniform(-0.008, 0.008, 3))  # very slight colour tint
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), mask
