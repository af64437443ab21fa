"""Drawing primitives of the synthetic demo images: shapes with exact signed distances.

Every shape is an analytic primitive with a signed distance field (px, < 0 inside). The
image is painted with ``alpha = clip(0.5 - sd, 0, 1)`` and the mask is ``sd <= 0``, so the
mask is the 0.5-coverage level of what is drawn.
"""

from __future__ import annotations

import numpy as np

# Geometry. Primitives are tuples in pixel coordinates (y, x):
#   ("seg", p0, p1, r0, r1)     tapered capsule (one polyline segment)
#   ("ell", c, theta, a, b)     ellipse, semi-axis a along direction theta
#   ("lens", c, theta, a, b)    pointed leaf: intersection of two discs
# Direction theta means the vector (dy, dx) = (sin theta, cos theta).


def unit(theta: float) -> np.ndarray:
    return np.array([np.sin(theta), np.cos(theta)])


def stroke(pts, radii) -> list:
    """Polyline as a chain of capsules; radii: per point, or (start, end)."""
    pts = np.asarray(pts, float)
    r = np.asarray(radii, float)
    if r.size != len(pts):
        r = np.linspace(r[0], r[-1], len(pts))
    return [("seg", pts[i], pts[i + 1], r[i], r[i + 1]) for i in range(len(pts) - 1)]


def walk(rng, start, theta, length, n=12, curl=0.05) -> np.ndarray:
    """Smooth random-walk polyline: a gently bending stem, tail or antenna."""
    pts, turn = [np.asarray(start, float)], 0.0
    for _ in range(n):
        turn = 0.7 * turn + rng.normal(0.0, curl)
        theta += turn
        pts.append(pts[-1] + unit(theta) * (length / n))
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


def fit(rng, parts: list[list], box, rmin, rot=0.0, fill=(0.8, 0.97), upscale=True):
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


def paint(img, mask, prims, color, opacity=1.0, rim=0.0):
    """Alpha-blend a shape; rim > 0 darkens a thin inner outline (membranes)."""
    res = _sd(img.shape[:2], prims)
    if res is not None:
        sl, sd = res
        op = opacity(sl) if callable(opacity) else opacity
        alpha = np.clip(0.5 - sd, 0, 1) * np.clip(op + rim * np.exp(-(((sd + 1) / 1.3) ** 2)), 0, 1)
        img[sl] += (np.asarray(color, float) - img[sl]) * alpha[..., None]
        mask[sl] |= sd <= 0


def smooth_field(rng, h, w, cells) -> np.ndarray:
    """Smooth noise field (paper blotches): a coarse grid, bilinearly upsampled."""
    def up(n):
        return np.stack([np.interp(np.linspace(0, cells - 1, n), np.arange(cells), e)
                         for e in np.eye(cells)], 1)
    return up(h) @ rng.standard_normal((cells, cells)) @ up(w).T


def fill_rect(img, y0, y1, x0, x1, color):
    img[max(y0, 0) : y1, max(x0, 0) : x1] = color
