"""Deterministic synthetic specimen photographs with exact ground-truth masks.

Used by ``specimask demo``, the napari sample data and the method benchmarks.
Real labelled data is scarce and heavy, so we draw two typical kinds of
specimen images ourselves: herbarium sheets (a pressed plant plus the usual
label, colour chart and ruler, which are *not* specimen) and ZooScan-like
plankton crops (a faint translucent organism plus a scale bar).

Every shape is an analytic primitive with a signed distance field (px, < 0
inside). The image is painted with ``alpha = clip(0.5 - sd, 0, 1)`` and the
mask is ``sd <= 0``, so the mask is the 0.5-coverage level of what is drawn.
Only numpy ``Generator(PCG64)`` draws are used, so a seed gives the same bytes
on every run. Deliberately free of napari / Qt imports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi


@dataclass(frozen=True)
class DemoSample:
    """One synthetic image with its truth mask."""

    name: str  # e.g. "herbarium_007"; unique and filesystem-safe
    kind: str  # "herbarium" or "plankton"
    split: str  # "pool", "val" or "test"
    image: np.ndarray  # (H, W, 3) uint8 RGB
    mask: np.ndarray  # (H, W) bool, True = specimen


# Geometry. Primitives are tuples in pixel coordinates (y, x):
#   ("seg", p0, p1, r0, r1)     tapered capsule (one polyline segment)
#   ("ell", c, theta, a, b)     ellipse, semi-axis a along direction theta
#   ("lens", c, theta, a, b)    pointed leaf: intersection of two discs
# Direction theta means the vector (dy, dx) = (sin theta, cos theta).


def _dir(theta: float) -> np.ndarray:
    return np.array([np.sin(theta), np.cos(theta)])


def _stroke(pts, radii) -> list:
    """Polyline as a chain of capsules; radii: per point, or (start, end)."""
    pts = np.asarray(pts, float)
    r = np.asarray(radii, float)
    if r.size != len(pts):
        r = np.linspace(r[0], r[-1], len(pts))
    return [("seg", pts[i], pts[i + 1], r[i], r[i + 1]) for i in range(len(pts) - 1)]


def _walk(rng, start, theta, length, n=12, curl=0.05) -> np.ndarray:
    """Smooth random-walk polyline: a gently bending stem, tail or antenna."""
    pts, turn = [np.asarray(start, float)], 0.0
    for _ in range(n):
        turn = 0.7 * turn + rng.normal(0.0, curl)
        theta += turn
        pts.append(pts[-1] + _dir(theta) * (length / n))
    return np.array(pts)


def _extent(p) -> tuple[np.ndarray, np.ndarray]:
    r = max(p[3], p[4])
    if p[0] == "seg":
        return np.minimum(p[1], p[2]) - r, np.maximum(p[1], p[2]) + r
    return p[1] - r, p[1] + r


def _bounds(prims) -> tuple[np.ndarray, np.ndarray]:
    ext = [_extent(p) for p in prims]
    return np.min([e[0] for e in ext], 0), np.max([e[1] for e in ext], 0)


def _xf(prims, scale=1.0, rot=0.0, shift=(0.0, 0.0), rmin=0.0) -> list:
    """Rotate about the origin, scale, shift; keep radii >= rmin px."""
    m = np.array([[np.cos(rot), np.sin(rot)], [-np.sin(rot), np.cos(rot)]])
    f = lambda q: m @ q * scale + np.asarray(shift, float)  # noqa: E731
    r = lambda v: max(v * scale, rmin)  # noqa: E731
    return [("seg", f(p[1]), f(p[2]), r(p[3]), r(p[4])) if p[0] == "seg"
            else (p[0], f(p[1]), p[2] + rot, r(p[3]), r(p[4])) for p in prims]


def _fit(rng, parts: list[list], box, rmin, rot=0.0, fill=(0.8, 0.97), upscale=True):
    """Place parts (same frame) randomly inside box=(y0, y1, x0, x1)."""
    parts = [_xf(p, rot=rot) for p in parts]
    lo, hi = _bounds([q for p in parts for q in p])
    room = np.array([box[1] - box[0], box[3] - box[2]], float)
    s = float(np.min(room / (hi - lo))) * rng.uniform(*fill)
    s = s if upscale else min(s, 1.0)
    free = room - (hi - lo) * s
    shift = np.array([box[0], box[2]]) + free * rng.uniform(0, 1, 2) - lo * s
    return [_xf(p, scale=s, shift=shift, rmin=rmin) for p in parts]


def _prim_sd(p, yy, xx) -> np.ndarray:
    if p[0] == "seg":
        _, p0, p1, r0, r1 = p
        dy, dx = p1 - p0
        t = ((yy - p0[0]) * dy + (xx - p0[1]) * dx) / (dy * dy + dx * dx + 1e-12)
        t = np.clip(t, 0, 1)
        return np.hypot(yy - p0[0] - t * dy, xx - p0[1] - t * dx) - (r0 + t * (r1 - r0))
    _, c, th, a, b = p
    y, x = yy - c[0], xx - c[1]
    u, v = y * np.sin(th) + x * np.cos(th), x * np.sin(th) - y * np.cos(th)
    if p[0] == "ell":  # first-order distance: (r - 1) / |grad r|
        r = np.hypot(u / a, v / b)
        g = np.hypot(u / a**2, v / b**2) / np.maximum(r, 1e-9)
        return (r - 1.0) / np.maximum(g, 1e-9)
    rad = (a * a + b * b) / (2 * b)
    return np.maximum(np.hypot(u, v + rad - b), np.hypot(u, v - rad + b)) - rad


def _sd(shape, prims):
    """Signed distance of a union of primitives, computed on its bounding box."""
    lo, hi = _bounds(prims)
    y0, x0 = np.maximum(np.floor(lo).astype(int) - 2, 0)
    y1, x1 = np.minimum(np.ceil(hi).astype(int) + 3, shape)
    if y1 <= y0 or x1 <= x0:
        return None
    sd = np.full((y1 - y0, x1 - x0), 1e3)
    for p in prims:
        plo, phi = _extent(p)
        a0, b0 = np.maximum(np.floor(plo).astype(int) - 2, (y0, x0))
        a1, b1 = np.minimum(np.ceil(phi).astype(int) + 3, (y1, x1))
        if a1 > a0 and b1 > b0:
            yy, xx = np.ogrid[a0:a1, b0:b1]
            view = sd[a0 - y0 : a1 - y0, b0 - x0 : b1 - x0]
            np.minimum(view, _prim_sd(p, yy.astype(float), xx.astype(float)), out=view)
    return (slice(y0, y1), slice(x0, x1)), sd


def _paint(img, mask, prims, color, opacity=1.0, rim=0.0):
    """Alpha-blend a shape; rim > 0 darkens a thin inner outline (membranes)."""
    res = _sd(img.shape[:2], prims)
    if res is not None:
        sl, sd = res
        op = opacity(sl) if callable(opacity) else opacity
        alpha = np.clip(0.5 - sd, 0, 1) * np.clip(op + rim * np.exp(-(((sd + 1) / 1.3) ** 2)), 0, 1)
        img[sl] += (np.asarray(color, float) - img[sl]) * alpha[..., None]
        mask[sl] |= sd <= 0


def _field(rng, h, w, cells) -> np.ndarray:
    """Smooth noise field (paper blotches): a coarse grid, bilinearly upsampled."""
    def up(n):
        return np.stack([np.interp(np.linspace(0, cells - 1, n), np.arange(cells), e)
                         for e in np.eye(cells)], 1)
    return up(h) @ rng.standard_normal((cells, cells)) @ up(w).T


def _rect(img, y0, y1, x0, x1, color):
    img[max(y0, 0) : y1, max(x0, 0) : x1] = color


# Herbarium sheet
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
    main = _walk(rng, (0.0, 0.0), -np.pi / 2 + rng.normal(0, 0.12), 1.0, 16, 0.04)
    axes = [(main, r0, r0 * 0.35)]
    for j in rng.choice(np.arange(3, 13), rng.integers(2, 6), replace=False):
        d = main[j + 1] - main[j]
        th = np.arctan2(d[0], d[1]) + rng.choice([-1, 1]) * rng.uniform(0.45, 1.0)
        branch = _walk(rng, main[j], th, rng.uniform(0.22, 0.45), 8, 0.06)
        axes.append((branch, r0 * 0.6, r0 * 0.3))
    stems, leaves, flowers = [], [], []
    for pts, ra, rb in axes:
        stems += _stroke(pts, (ra, rb))
        side = rng.choice([-1, 1])
        for k in range(2, len(pts) - 1, int(rng.integers(1, 3))):
            d = pts[k + 1] - pts[k]
            th = np.arctan2(d[0], d[1]) + side * rng.uniform(0.5, 1.1)
            side = -side
            a = 0.5 * leaf_len * rng.uniform(0.7, 1.2) * (1.0 - 0.35 * k / len(pts))
            c = pts[k] + _dir(th) * (a + 0.015)
            stems += _stroke([pts[k], pts[k] + _dir(th) * 0.02], (0.004, 0.003))
            shade = rng.uniform(0.8, 1.15) * (0.6 if rng.random() < 0.2 else 1.0)
            blade = ("lens" if pointed else "ell", c, th, a, a * leaf_ratio)
            leaves.append(([blade], leaf_col * shade, 1.0))
            vein = _stroke([c - _dir(th) * a * 0.8, c + _dir(th) * a * 0.6], (0.0015, 0.001))
            leaves.append((vein, np.minimum(leaf_col * shade * 1.4, 235), 0.45))  # midrib
        if rng.random() < 0.45:  # flower head at the tip
            tip, col = pts[-1], np.array(_PETALS[rng.integers(len(_PETALS))], float)
            n, pr = int(rng.integers(5, 8)), rng.uniform(0.022, 0.035)
            angles = np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 6.3)
            petals = [("ell", tip + _dir(t) * pr, t, pr, pr * 0.45) for t in angles]
            centre = [("ell", tip, 0.0, pr * 0.4, pr * 0.4)]
            flowers += [(petals, col, 1.0), (centre, col * 0.55, 1.0)]
    parts = [(stems, stem_col, 1.0)] + leaves + flowers
    if rng.random() < 0.5:  # a few thin roots below the base
        roots = []
        for _ in range(int(rng.integers(3, 6))):
            th = np.pi / 2 + rng.uniform(-0.7, 0.7)
            root = _walk(rng, (0.0, 0.0), th, rng.uniform(0.06, 0.16), 6, 0.15)
            roots += _stroke(root, (0.004, 0.0015))
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
    # colour chart: a strip of patches on a dark backing along the top or left edge
    sq = max(int(round(min(h, w) * rng.uniform(0.05, 0.065))), 6)
    n = int(rng.integers(7, len(_CHART) + 1))
    if horiz := rng.random() < 0.5:
        y0, x0, dy, dx = rng.integers(3, 8), rng.integers(4, max(5, w - n * sq - 8)), 0, sq
    else:
        y0, x0, dy, dx = rng.integers(4, 20), rng.integers(3, 8), sq, 0
    y0, x0 = int(y0), int(x0)
    _rect(img, y0 - 2, y0 + (n - 1) * dy + sq + 2, x0 - 2, x0 + (n - 1) * dx + sq + 2, (35, 35, 38))
    for i in range(n):
        y, x = y0 + i * dy, x0 + i * dx
        _rect(img, y + 1, y + sq - 1, x + 1, x + sq - 1, _CHART[i])
    top, left = (y0 + sq + 2, 0) if horiz else (0, x0 + sq + 2)
    # ruler: black/white segmented bar with ticks along the bottom-left edge
    rl, rh = int(w * rng.uniform(0.35, 0.48)), int(rng.integers(6, 10))
    ry1, rx0 = h - int(rng.integers(3, 8)), int(rng.integers(3, 10))
    _rect(img, ry1 - rh - 1, ry1 + 1, rx0 - 1, rx0 + rl + 1, (15, 15, 15))
    nseg = int(rng.integers(5, 9))
    for i in range(nseg):
        if i % 2:
            x0, x1 = rx0 + i * rl // nseg, rx0 + (i + 1) * rl // nseg
            _rect(img, ry1 - rh, ry1, x0, x1, (248, 248, 245))
    for i, x in enumerate(np.linspace(rx0, rx0 + rl - 1, 5 * nseg + 1).astype(int)):
        _rect(img, ry1 - rh - (6 if i % 5 == 0 else 3), ry1 - rh, x, x + 1, (15, 15, 15))
    # label: white card with a border and lines of dark text-like strokes
    lw, lh = int(w * rng.uniform(0.38, 0.48)), int(h * rng.uniform(0.12, 0.16))
    ly1, lx1 = h - int(rng.integers(4, 12)), w - int(rng.integers(4, 12))
    ly0, lx0 = ly1 - lh, lx1 - lw
    _rect(img, ly0 - 1, ly1 + 1, lx0 - 1, lx1 + 1, (150, 148, 140))
    _rect(img, ly0, ly1, lx0, lx1, (251, 250, 245))
    nl = int(rng.integers(4, 7))
    ink = np.array([28, 28, 40.0]) + rng.normal(0, 5, 3)
    for li in range(nl):
        y = ly0 + 4 + li * (lh - 8) // nl
        x, x_end = lx0 + 4, lx0 + 4 + int((lw - 8) * rng.uniform(0.5, 0.95))
        while x < x_end:
            ww = int(rng.integers(3, 14))
            _rect(img, y, y + (3 if li == 0 else 2), x, min(x + ww, x_end), ink)
            x += ww + int(rng.integers(2, 5))
    # plant, fitted into the free region between the distractors
    bottom = min(ly0, ry1 - rh - 6) - 8
    box = (top + 8, bottom, left + 8, w - 8)
    parts = _plant(rng)
    placed = _fit(rng, [p for p, _, _ in parts], box, 0.6, fill=(0.85, 0.98))
    for prims, (_, col, op) in zip(placed, parts):
        _paint(img, mask, prims, np.clip(col, 0, 255), op)
    # paper/leaf texture, uneven illumination, sensor noise
    tex = ndi.gaussian_filter(rng.standard_normal((h, w)), 1.0) * 0.05
    tex += _field(rng, h, w, 5) * 0.012
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    cy, cx = rng.uniform(0.3, 0.7, 2) * np.array([h, w]) / max(h, w)
    light = 1.0 + rng.uniform(-0.05, 0.05) * (yy - 0.5) + rng.uniform(-0.04, 0.04) * (xx - 0.3)
    light -= rng.uniform(0.04, 0.09) * ((yy - cy) ** 2 + (xx - cx) ** 2)
    img *= (light * (1.0 + tex))[..., None]
    img += rng.normal(0, 1.2, (h, w, 1)) + rng.normal(0, 0.8, (h, w, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), mask


# Plankton crop (ZooScan-like)

def _organism(rng, length: float) -> tuple[list, list, list]:
    """Organism along +x centred near the origin: body, inner and thin parts."""
    L, form = length, rng.choice(3, p=[0.6, 0.2, 0.2])
    if form == 0:  # copepod: prosome ellipse, urosome tail, antennules, legs
        a = L * rng.uniform(0.26, 0.32)
        b = a * rng.uniform(0.32, 0.48)
        th = np.pi + rng.normal(0, 0.1)
        tail = _walk(rng, (0.0, -0.8 * a), th, L * rng.uniform(0.25, 0.4), 5, 0.08)
        body = [("ell", np.zeros(2), 0.0, a, b)] + _stroke(tail, (0.32 * b, 0.16 * b))
        inner = [[("ell", np.array([0.0, -0.1 * a]), 0.0, 0.6 * a, 0.28 * b)]]
        if rng.random() < 0.5:
            inner.append([("ell", np.array([0.2 * b, 0.35 * a]), 0.0, 0.14 * b, 0.14 * b)])
        thin = []
        for s in (-1, 1):
            th = s * (np.pi / 2 + rng.uniform(0.0, 0.7))
            antenna = _walk(rng, (s * 0.4 * b, 0.75 * a), th, L * rng.uniform(0.35, 0.7), 10, 0.05)
            thin += _stroke(antenna, (0.7, 0.5))
            thin += _stroke([tail[-1], tail[-1] + _dir(np.pi + s * 0.35) * L * 0.12], (0.6, 0.5))
        for u in np.linspace(-0.3, 0.25, int(rng.integers(2, 5))) * a:
            p0 = np.array([0.6 * b * np.sqrt(1 - (u / a) ** 2), u])
            leg = _dir(np.pi / 2 + rng.uniform(0.3, 0.9)) * L * rng.uniform(0.06, 0.13)
            thin += _stroke([p0, p0 + leg], (0.6, 0.5))
    elif form == 1:  # chaetognath-like: long tapered worm with fins and head hooks
        pts = _walk(rng, (0.0, -L / 2), rng.normal(0, 0.1), L, 14, 0.03)
        w = L * rng.uniform(0.035, 0.06) * np.sin(np.linspace(0.5, 2.9, len(pts))) + 0.6
        body = _stroke(pts[::-1], w[::-1])
        body += [("lens", pts[4] + s * np.array([w[4], 0.0]), s * 0.35, L * 0.08, L * 0.02)
                 for s in (-1, 1)]
        inner = [_stroke(pts[3:12], 0.3 * w[3:12])]
        thin = []
        for s in np.linspace(-0.9, 0.9, int(rng.integers(4, 7))):
            thin += _stroke([pts[-1], pts[-1] + _dir(s) * L * 0.07], (0.7, 0.5))
    else:  # round radiolarian / larva: ellipse with radial spines
        r = L * rng.uniform(0.22, 0.3)
        body = [("ell", np.zeros(2), 0.0, r, r * rng.uniform(0.75, 1.0))]
        inner = [[("ell", np.array([0.0, 0.0]), rng.uniform(0, 3), 0.45 * r, 0.35 * r)]]
        thin = []
        n = int(rng.integers(8, 18))
        for t in np.linspace(0, 2 * np.pi, n, endpoint=False) + rng.uniform(0, 1):
            thin += _stroke([_dir(t) * 0.7 * r, _dir(t) * r * rng.uniform(1.3, 1.9)], (0.7, 0.5))
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
    placed = _fit(rng, [body, thin] + inner, box, 0.5, rot=rot, fill=(0.8, 1.0), upscale=False)
    ink = 30.0
    base = rng.uniform(20, 60) / (bg - ink)  # body 20-60 grey levels below the background
    tex = ndi.gaussian_filter(rng.standard_normal((h, w)), 1.5) * 3.0
    _paint(img, mask, placed[0], ink, lambda sl: base * (1.0 + 0.35 * tex[sl]), rim=base * 1.2)
    for prims in placed[2:]:  # gut, oil droplet: a bit darker than the body
        _paint(img, mask, prims, ink, base * rng.uniform(0.3, 0.6))
    _paint(img, mask, placed[1], ink, rng.uniform(0.35, 0.6))
    img += rng.normal(0, rng.uniform(4, 8), (h, w, 1))
    img = img * (1.0 + rng.uniform(-0.008, 0.008, 3))  # very slight colour tint
    return np.clip(np.rint(img), 0, 255).astype(np.uint8), mask


# Demo set

def _splits(n: int) -> list[str]:
    k = (n + 3) // 6  # about 1/6 each for val and test, the rest (2/3) is the pool
    return ["pool"] * (n - 2 * k) + ["val"] * k + ["test"] * k


def demo_samples(
    n_herbarium: int = 24, n_plankton: int = 24, seed: int = 0
) -> list[DemoSample]:
    """The deterministic demo set: herbarium sheets first, then plankton crops.

    Sample i of a kind is seeded by (seed, kind, i), so it does not depend on
    how many samples are requested.
    """
    out = []
    for kind_id, (kind, n) in enumerate((("herbarium", n_herbarium), ("plankton", n_plankton))):
        for i, split in enumerate(_splits(int(n))):
            rng = np.random.Generator(np.random.PCG64([int(seed), kind_id, i]))
            if kind == "herbarium":
                hgt = int(rng.integers(320, 401))
                wid = int(round(hgt * rng.uniform(0.62, 0.72)))
                image, mask = make_herbarium_sheet(rng, hgt, wid)
            else:
                image, mask = make_plankton(rng)
            out.append(DemoSample(f"{kind}_{i:03d}", kind, split, image, mask))
    return out
