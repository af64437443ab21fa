"""Choosing the cold-start method for a project, by a measured rule.

No fixed method suits every collection: on real herbarium sheets with a dark frame or
table around them ``background`` gives empty or whole-sheet masks, while on plankton
crops ``otsu`` drops the faint appendages. ``choose_cold_start`` runs every method on a
few of the project's images and picks one:

- with verified masks for some of them, by mean Dice on those (basis ``"verified"``);
- otherwise by an unsupervised quality score, ``proxy_score`` (basis ``"proxy"``): the
  highest median over the images among the methods that do not fail (score under
  ``FAIL``) on more than a quarter of them; medians within ``NEAR`` of the best count as
  a tie, broken by the mean (which sees the occasional failure a median hides).

``proxy_score`` estimates how well a mask separates "structure" from a flat background,
on the grey image downscaled to about ``PROXY_SIDE`` px:

1. the background is what lies more than 2 px outside the mask: its median grey level and
   noise (MAD); a pixel is *distinct* when it differs from that level by more than
   max(4 noise, 8) grey levels in the mask's own polarity (darker, for a dark specimen);
2. recall: distinct pixels inside the mask over all distinct pixels (faint parts left
   outside, as Otsu leaves plankton appendages, lower it; a frame left outside does not);
3. precision: distinct pixels inside the mask over the mask, where objects that run along
   the image border (a frame, a table, a whole sheet taken as foreground) count as not
   specimen in proportion to the share of their outline lying on the border;
4. their F1, times a coverage penalty when the mask covers over ``COVER_FREE`` of the
   image (an "everything" mask). Empty and full masks score 0.

Measured in ``benchmarks/coldstart_rule.py`` (see docs/cold-start.md).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from ..errors import SpecimaskError
from ..io.images import to_rgb8
from ..masks.metrics import dice_iou
from ..masks.postprocess import PostProcess
from .methods import METHODS, ColdStart, grey

PROXY_SIDE = 256      # the proxy works on images downscaled to about this many px
TOL_SIGMA, TOL_MIN = 4.0, 8.0  # distinct: over max(4 noise sigmas, 8 grey levels) off
FAIL = 0.3            # a proxy under this is a failed mask (empty, frame, whole sheet)
FAIL_SHARE = 0.25     # a method failing on more images than this share is not chosen
NEAR = 0.02           # medians this close count as a tie, broken by the mean proxy
COVER_FREE = 0.7      # coverage up to this costs nothing; above, the score falls to 0 at 1
BORDER_FREE = 0.15    # an object with up to this share of its outline on the image border
BORDER_FULL = 0.40    # ... is specimen; from this share on, it is taken as frame / table


@dataclass(frozen=True)
class MethodScore:
    method: str
    proxy: float            # unsupervised quality, higher is better
    dice: float | None      # mean Dice against verified masks, when any were given


@dataclass(frozen=True)
class ColdStartChoice:
    method: str
    scores: tuple[MethodScore, ...]
    basis: str              # "verified" (Dice on verified masks) or "proxy"
    reason: str             # one sentence a person reads in the GUI / CLI


def proxy_score(rgb: np.ndarray, mask: np.ndarray) -> float:
    """Unsupervised quality of ``mask`` as a specimen mask of ``rgb``, in 0..1."""
    rgb = to_rgb8(np.asarray(rgb))
    mask = np.asarray(mask, bool)
    if mask.shape != rgb.shape[:2]:
        raise SpecimaskError(f"mask is {mask.shape[1]} x {mask.shape[0]} px but the image is "
                             f"{rgb.shape[1]} x {rgb.shape[0]} px")
    f = _factor(mask.shape)
    return _score(_small_grey(rgb, f), _block_mean(mask.astype(np.float32), f) > 0.5)


def _factor(shape: tuple[int, ...]) -> int:
    return max(1, int(round(max(shape[:2]) / PROXY_SIDE)))


def _small_grey(rgb: np.ndarray, f: int) -> np.ndarray:
    """Grey, block-mean downscaled by ``f``, 3 x 3 median (JPEG and sensor speckle)."""
    return ndi.median_filter(_block_mean(grey(rgb), f), size=3)


def _score(g: np.ndarray, m: np.ndarray) -> float:
    if m.sum() < 5 or (~m).sum() < 20:
        return 0.0
    far = ~ndi.binary_dilation(m, iterations=2)
    if far.sum() < 20:
        far = ~m
    out = g[far]
    level = float(np.median(out))
    noise = 1.4826 * float(np.median(np.abs(out - level)))
    d = g - level
    tol = max(TOL_SIGMA * noise, TOL_MIN)
    darker = np.count_nonzero(d[m] < -tol) >= np.count_nonzero(d[m] > tol)
    distinct = (-d if darker else d) > tol
    inside = np.count_nonzero(distinct & m)
    if inside == 0:
        return 0.0
    missed = distinct & far  # structure left outside; a frame along the border is not missed
    recall = inside / (inside + float(np.sum(1.0 - _frame_weight(missed)[missed])))
    not_frame = 1.0 - _frame_weight(m)
    precision = float(np.sum(not_frame[distinct & m])) / np.count_nonzero(m)
    if precision <= 0:
        return 0.0
    f1 = 2 * recall * precision / (recall + precision)
    cover = min(1.0, (1.0 - m.mean()) / (1.0 - COVER_FREE))
    return float(f1 * cover)


def choose_cold_start(images: list[np.ndarray],
                      verified: list[np.ndarray | None] | None = None,
                      post: PostProcess = PostProcess(),  # noqa: B008 (frozen)
                      ) -> ColdStartChoice:
    """Run every cold-start method (with ``post``) on ``images`` and choose one.

    ``verified[i]`` is a person's mask for ``images[i]`` or None. With at least one, the
    method with the best mean Dice on those wins; otherwise the proxy rule (module doc).
    """
    return compare_methods(images, verified, post).choice


@dataclass
class MethodComparison:
    """Every method's masks of some images (when kept) and the choice they make."""
    choice: ColdStartChoice
    masks: dict[str, list[np.ndarray]]  # method -> one mask per image; empty unless kept


def compare_methods(images: list[np.ndarray],
                    verified: list[np.ndarray | None] | None = None,
                    post: PostProcess = PostProcess(),  # noqa: B008 (frozen)
                    keep_masks: bool = False) -> MethodComparison:
    """``choose_cold_start``, with each method's masks kept where asked (``keep_masks``:
    what the GUI's picker shows beside the choice; a sample of 50 MP sheets would hold
    gigabytes, so the choice alone keeps none)."""
    if not images:
        raise SpecimaskError("choosing a cold-start method needs at least one image")
    if verified is not None and len(verified) != len(images):
        raise SpecimaskError(f"{len(verified)} verified masks for {len(images)} images; "
                             "give one (or None) per image")
    verified = list(verified) if verified is not None else [None] * len(images)
    methods = list(METHODS)
    for i, (img, truth) in enumerate(zip(images, verified)):
        shape = np.shape(img)[:2]
        if truth is not None and np.shape(truth) != shape:
            raise SpecimaskError(f"verified mask {i} has shape {np.shape(truth)} but its image "
                                 f"is {shape[1]} x {shape[0]} px; masks are never resized")

    def one(i: int) -> dict[str, tuple[float, float | None, np.ndarray | None]]:
        rgb = to_rgb8(np.asarray(images[i]))
        f = _factor(rgb.shape)
        g = _small_grey(rgb, f)
        truth = verified[i]
        out = {}
        for m in methods:
            mask = ColdStart(m, post)(rgb)
            out[m] = (_score(g, _block_mean(mask.astype(np.float32), f) > 0.5),
                      None if truth is None else dice_iou(mask, np.asarray(truth, bool))[0],
                      mask if keep_masks else None)
        return out

    workers = max(1, min(len(images), os.cpu_count() or 1, 4))
    if workers == 1:
        results = [one(i) for i in range(len(images))]
    else:  # numpy / scipy release the GIL in the heavy parts
        with ThreadPoolExecutor(workers) as pool:
            results = list(pool.map(one, range(len(images))))
    proxies = {m: [r[m][0] for r in results] for m in methods}
    dices = {m: [r[m][1] for r in results if r[m][1] is not None] for m in methods}
    masks = {m: [r[m][2] for r in results] for m in methods} if keep_masks else {}
    return MethodComparison(choose_from_scores(proxies, dices), masks)


def choose_from_scores(proxies: dict[str, list[float]],
                       dices: dict[str, list[float]] | None = None) -> ColdStartChoice:
    """The rule on scores already measured: ``proxies[method]`` per image, ``dices[method]``
    per verified image (empty lists or None: no verified masks)."""
    methods = list(proxies)
    n = len(proxies[methods[0]]) if methods else 0
    if n == 0 or any(len(v) != n for v in proxies.values()):
        raise SpecimaskError("choosing a cold-start method needs one proxy score per method "
                             "and image, for at least one image")
    dices = dices or {}
    n_verified = len(dices.get(methods[0], []))
    median = {m: float(np.median(proxies[m])) for m in methods}
    mean = {m: float(np.mean(proxies[m])) for m in methods}
    failed = {m: int(np.sum(np.asarray(proxies[m]) < FAIL)) for m in methods}
    mean_dice = {m: (float(np.mean(dices[m])) if n_verified else None) for m in methods}
    scores = tuple(MethodScore(m, median[m], mean_dice[m]) for m in methods)

    if n_verified:
        best = max(methods, key=lambda m: (mean_dice[m], median[m]))
        rest = ", ".join(f"{m} {mean_dice[m]:.2f}" for m in methods if m != best)
        reason = (f"{best}: best mean Dice, {mean_dice[best]:.2f}, against the {n_verified} "
                  f"verified {_plural(n_verified, 'mask')}" + (f" ({rest})" if rest else ""))
        return ColdStartChoice(best, scores, "verified", reason + ".")

    usable = [m for m in methods if failed[m] <= FAIL_SHARE * n] or methods
    top = max(median[m] for m in usable)
    near = [m for m in usable if median[m] >= top - NEAR]
    best = max(near, key=lambda m: (mean[m], median[m]))
    rest = ", ".join(f"{m} {median[m]:.2f}" for m in usable if m != best)
    reason = (f"{best}: best unsupervised mask score, median {median[best]:.2f} over {n} "
              f"{_plural(n, 'image')}" + (f" ({rest})" if rest else ""))
    if len(near) > 1:
        reason += f", ties broken by the mean ({best} {mean[best]:.2f})"
    dropped = [m for m in methods if m not in usable]
    if dropped:
        reason += "; set aside: " + ", ".join(
            f"{m}, whose masks failed on {failed[m]} of {n}" for m in dropped)
    return ColdStartChoice(best, scores, "proxy", reason + ".")


def _plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def _block_mean(a: np.ndarray, f: int) -> np.ndarray:
    """Mean over f x f blocks (the ragged last rows / columns are dropped)."""
    if f == 1:
        return a.astype(np.float32, copy=False)
    h, w = (a.shape[0] // f) * f, (a.shape[1] // f) * f
    if h == 0 or w == 0:
        return a.astype(np.float32, copy=False)
    return a[:h, :w].reshape(h // f, f, w // f, f).mean(axis=(1, 3), dtype=np.float32)


def _frame_weight(m: np.ndarray) -> np.ndarray:
    """Per pixel of ``m``: how frame-like its object is, 0 (specimen) .. 1 (frame).

    An object's outline is taken with its holes filled (a whole sheet taken as foreground
    is one outline, however spotty); the share of that outline on the image border decides.
    """
    lab, n = ndi.label(m)
    if n == 0:
        return np.zeros(m.shape, np.float32)
    filled = ndi.binary_fill_holes(m)
    if (filled & ~m).any():  # holes take the label of the object around them
        nearest = ndi.distance_transform_edt(lab == 0, return_distances=False,
                                             return_indices=True)
        lab = np.where(filled, lab[tuple(nearest)], 0)
    outline = filled & ~ndi.binary_erosion(filled, border_value=0)
    border = np.zeros(m.shape, bool)
    border[0] = border[-1] = border[:, 0] = border[:, -1] = True
    perimeter = np.bincount(lab[outline], minlength=n + 1).astype(np.float32)
    on_border = np.bincount(lab[outline & border], minlength=n + 1).astype(np.float32)
    share = on_border / np.maximum(perimeter, 1.0)
    weight = np.clip((share - BORDER_FREE) / (BORDER_FULL - BORDER_FREE), 0.0, 1.0)
    weight[0] = 0.0
    return weight[lab]
