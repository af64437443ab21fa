"""Rebuild the hand-checked reference masks from their per-image recipes.

    python benchmarks/reference_masks/make_reference_masks.py [--data DIR] [--overlays DIR]

``--data`` is the folder holding ``violaceae_pool/`` and ``zooscan_pool/`` (default
``../shared/data`` next to the repository); ``--overlays`` also writes each mask drawn
over its image (magenta outline, dimmed background) for checking by eye.

Each recipe is what a person did with simple tools, written down so it can be redone:
where the specimen lies (``roi`` polygons or ``keep`` rectangles, default the whole image),
what to paint out (``erase`` rectangles / polygons: labels, colour charts, rulers,
barcodes, stamps, frames, field photographs), and a hand-chosen threshold on one feature:

- herbarium sheets: ``max(paper L - L, chroma x |ab - paper ab|)`` in CIELAB, with the paper
  colour a smooth (quadratic) surface fitted to the paper pixels inside the region, so
  lighting gradients across a photographed sheet do not move the threshold;
- plankton crops: ``background grey - grey`` after a 3 x 3 median, the background being the
  median of the crop border.

Recipe keys: ``thr`` the threshold; ``thr_at`` [(rect, thr)] another threshold in a
rectangle (faint roots); ``chroma`` the colour weight (default 1.5); ``tape`` polygons of
yellowish mounting tape, where only darkness counts, against ``tape_thr`` (default 25);
``keep`` / ``roi`` the region (default the whole image); ``erase`` / ``erase_poly``;
``min_size`` (default 40 px) objects dropped; ``hole`` px: smaller holes filled (bright
veins and glare inside leaves); ``keep_largest`` n objects; ``add`` / ``add_poly`` shapes
painted in by hand. Rectangles are (x0, y0, x1, y1) in image pixels, end exclusive;
polygons are lists of (x, y).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage as ndi
from skimage.color import rgb2lab

from napari_specimask.core.masks.postprocess import remove_small

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[2] / "shared" / "data"

# Herbarium sheets (violaceae_pool).  thr: threshold on the feature (Lab units);
# chroma: weight of colour difference against darkness.
VIOLACEAE: dict[str, dict] = {
    # white scan, colour chart + ruler right, label bottom right, number top right
    "V01_02_450": dict(thr=14, erase=[(628, 380, 700, 815), (455, 808, 700, 990),
                                      (590, 40, 665, 75)], hole=30),
    # white scan, field photograph top left, label and barcode bottom right
    "V01_06_009": dict(thr=14, erase=[(0, 0, 365, 250), (440, 790, 682, 1000),
                                      (390, 770, 410, 790)], hole=30),
    # photographed: wooden frame right, card top, stamp, label, barcode
    "V03_01_067": dict(thr=14, keep=[(10, 58, 682, 1000)], thr_at=[((200, 640, 320, 800), 11)],
                       erase=[(570, 50, 660, 135), (470, 760, 690, 1000),
                              (30, 935, 180, 1000)], hole=30),
    # black frame left / bottom, colour chart + ruler right, stamp, label, barcode, number
    "V05_01_004": dict(thr=14, keep=[(58, 0, 666, 855)],
                       erase=[(575, 0, 666, 80), (600, 283, 666, 680), (430, 665, 650, 855),
                              (90, 800, 290, 855)], hole=30),
    # photographed: table and cables right, stamp, label, barcode, pencil note
    "V05_04_002": dict(thr=14, keep=[(7, 17, 684, 992)], thr_at=[((150, 540, 450, 780), 10)],
                       erase=[(545, 100, 650, 200), (460, 765, 690, 1000),
                              (10, 945, 130, 975), (435, 960, 470, 1000)], hole=30),
    # photographed, small plant: grey table right, stamp, label, barcode
    "V08_04_001": dict(thr=9, keep=[(9, 15, 694, 992)],
                       erase=[(545, 80, 650, 180), (465, 765, 698, 1000),
                              (10, 955, 150, 1000), (435, 960, 475, 1000)], hole=30),
    # yellowish paper, colour/grey strip along the top, two labels, stamp
    "V10_02_474": dict(thr=14, keep=[(0, 25, 688, 1000)],
                       erase=[(575, 780, 670, 810), (395, 825, 688, 1000),
                              (165, 940, 390, 995)], hole=30),
    # white scan, colour chart + ruler right, tapes, label, barcode; fine roots
    "V11_02_104": dict(thr=14, erase=[(695, 205, 737, 370), (665, 520, 737, 810),
                                      (440, 820, 737, 1000), (300, 925, 420, 980)], hole=30,
                       tape=[[(196, 309), (286, 288), (290, 303), (200, 326)],
                             [(441, 275), (532, 275), (532, 296), (441, 296)],
                             [(476, 562), (566, 541), (570, 557), (480, 580)],
                             [(473, 613), (550, 675), (545, 695), (466, 633)],
                             [(212, 655), (306, 655), (306, 675), (212, 675)],
                             [(352, 687), (380, 696), (346, 784), (326, 775)]]),
    # photographed pale plant: wooden frame right, stamp, three labels, barcode
    "V13_01_009": dict(thr=10, chroma=2.0, keep=[(12, 45, 686, 993)],
                       erase=[(595, 55, 700, 160), (492, 680, 690, 815), (474, 812, 690, 1000),
                              (5, 935, 150, 993), (100, 945, 140, 985)], hole=30),
    # black strip along the top, white card top right, label, barcode
    "V18_05_006": dict(thr=14, keep=[(4, 43, 664, 997)],
                       erase=[(430, 38, 666, 160), (435, 815, 666, 1000)], hole=30),
}

# Plankton crops (zooscan_pool).  thr: grey levels below the border background.
ZOOSCAN: dict[str, dict] = {
    "000_Physonectae_145": dict(thr=12, min_size=10, hole=3000),  # transparent bract
    "001_tail_Appendicularia_1592": dict(thr=12, min_size=10),
    "022_Decapoda_228": dict(thr=12, min_size=10),
    "023_Rhizaria_9521": dict(thr=12, min_size=10),
    "024_Chaetognatha_2339": dict(thr=12, min_size=10),
    "025_Bivalvia_1013": dict(thr=40, min_size=10, keep_largest=1),  # blurred edge: mid-contrast
    "042_gelatinous_477": dict(thr=12, min_size=10),
    "044_Cyclopoida_107803": dict(thr=12, min_size=10, erase=[(84, 0, 100, 14)]),  # particle
    "062_Rhizosolenids_9831": dict(thr=12, min_size=10),
    "063_Cavoliniidae_128": dict(thr=12, min_size=10),
    "064_Hydrozoa_1751": dict(thr=6, min_size=10, hole=3000),  # faint outer bell
    "066_multiple_Copepoda_2742": dict(thr=18, min_size=10),
}


def _shape_mask(shape, rects=(), polys=()) -> np.ndarray:
    img = Image.new("1", (shape[1], shape[0]), 0)
    d = ImageDraw.Draw(img)
    for x0, y0, x1, y1 in rects:
        d.rectangle([x0, y0, x1 - 1, y1 - 1], fill=1)
    for poly in polys:
        d.polygon([tuple(p) for p in poly], fill=1)
    return np.array(img, dtype=bool)


def _region(shape, r: dict) -> np.ndarray:
    if r.get("roi") or r.get("keep"):
        region = _shape_mask(shape, r.get("keep", ()), r.get("roi", ()))
    else:
        region = np.ones(shape, bool)
    return region & ~_shape_mask(shape, r.get("erase", ()), r.get("erase_poly", ()))


def _fit_surface(values: np.ndarray, sel: np.ndarray) -> np.ndarray:
    """Quadratic surface in (x, y) least-squares fitted to ``values[sel]``."""
    h, w = values.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xx, yy = xx / w, yy / h
    basis = [np.ones_like(xx), xx, yy, xx * xx, yy * yy, xx * yy]
    a = np.stack([b[sel] for b in basis], 1)
    coef, *_ = np.linalg.lstsq(a, values[sel], rcond=None)
    return sum(c * b for c, b in zip(coef, basis))


def herbarium_feature(rgb: np.ndarray, region: np.ndarray,
                      chroma: float) -> tuple[np.ndarray, np.ndarray]:
    """(max(darkness, chroma x colour difference), darkness) against the fitted paper."""
    lab = rgb2lab(rgb).astype(np.float32)
    lab = ndi.uniform_filter(lab, size=(3, 3, 1))  # JPEG noise
    L, ab = lab[..., 0], lab[..., 1:]
    paper = region & (L > np.percentile(L[region], 40))  # first guess: the lighter part
    for _ in range(2):
        bg_l = _fit_surface(L, paper)
        bg_a, bg_b = _fit_surface(ab[..., 0], paper), _fit_surface(ab[..., 1], paper)
        dl = bg_l - L
        dab = np.hypot(ab[..., 0] - bg_a, ab[..., 1] - bg_b)
        f = np.maximum(dl, chroma * dab)
        paper = region & (f < 6)
    return f, dl


def plankton_feature(rgb: np.ndarray) -> np.ndarray:
    g = ndi.median_filter(rgb[..., 0].astype(np.float32), size=3)
    border = np.concatenate([g[0], g[-1], g[:, 0], g[:, -1]])
    return float(np.median(border)) - g


def make_mask(rgb: np.ndarray, r: dict, kind: str) -> np.ndarray:
    shape = rgb.shape[:2]
    region = _region(shape, r)
    thr = np.full(shape, float(r["thr"]), np.float32)
    for (x0, y0, x1, y1), t in r.get("thr_at", ()):  # a different threshold in a rectangle
        thr[y0:y1, x0:x1] = t
    if kind == "violaceae":
        f, dl = herbarium_feature(rgb, region, r.get("chroma", 1.5))
        # under yellowish mounting tape only darkness counts, with its own threshold
        tape = _shape_mask(shape, (), r.get("tape", ()))
        f = np.where(tape, dl, f)
        thr[tape] = r.get("tape_thr", 25)
    else:
        f = plankton_feature(rgb)
    mask = (f > thr) & region
    mask = remove_small(mask, r.get("min_size", 40))
    if r.get("hole", 0):
        mask = fill_small_holes(mask, r["hole"])
    if r.get("keep_largest"):
        lab, n = ndi.label(mask)
        if n:
            sizes = np.bincount(lab.ravel())[1:]
            keep = np.argsort(sizes)[::-1][: r["keep_largest"]] + 1
            mask = np.isin(lab, keep)
    mask |= _shape_mask(shape, r.get("add", ()), r.get("add_poly", ()))
    return mask


def fill_small_holes(mask: np.ndarray, max_area: int) -> np.ndarray:
    """Fill background components of at most ``max_area`` px not touching the border."""
    lab, n = ndi.label(~mask)
    if n == 0:
        return mask
    sizes = np.bincount(lab.ravel())
    small = sizes <= max_area
    small[0] = False
    small[np.unique(np.concatenate([lab[0], lab[-1], lab[:, 0], lab[:, -1]]))] = False
    return mask | small[lab]


def read_rgb(path: Path) -> np.ndarray:
    im = Image.open(path)
    return np.array(im.convert("RGB"))


def overlay(rgb: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Specimen tinted magenta, the rest dimmed towards cyan, outline drawn."""
    out = rgb.astype(np.float32)
    out[mask] = out[mask] * 0.6 + 0.4 * np.array([255, 0, 255])
    out[~mask] = out[~mask] * 0.6 + 0.4 * np.array([120, 200, 220])
    edge = mask & ~ndi.binary_erosion(mask)
    out[edge] = (255, 0, 128)
    return out.astype(np.uint8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--overlays", type=Path, default=None)
    ap.add_argument("--only", default=None, help="comma-separated stems")
    args = ap.parse_args()
    only = set(args.only.split(",")) if args.only else None
    for kind, recipes, pool in (("violaceae", VIOLACEAE, "violaceae_pool"),
                                ("zooscan", ZOOSCAN, "zooscan_pool")):
        out_dir = HERE / kind
        out_dir.mkdir(exist_ok=True)
        for stem, r in recipes.items():
            if only and stem not in only:
                continue
            rgb = read_rgb(args.data / pool / f"{stem}.jpg")
            mask = make_mask(rgb, r, kind)
            Image.fromarray(mask).convert("1").save(out_dir / f"{stem}.png", optimize=True)
            print(f"{kind}/{stem}: {mask.mean():.3f} foreground")
            if args.overlays:
                args.overlays.mkdir(parents=True, exist_ok=True)
                Image.fromarray(overlay(rgb, mask)).save(args.overlays / f"{stem}.png")


if __name__ == "__main__":
    main()
