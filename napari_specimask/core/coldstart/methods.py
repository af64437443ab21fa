"""Cold-start masks from classic image processing, before any network exists.

- ``otsu``: inverted Otsu on grey, the classic fern method (dark plant on light paper).
- ``background``: distance from the median background grey, with removal of a scale bar
  touching the bottom border, the classic plankton method (faint objects on noisy light
  background).
- ``kmeans``: k-means (k=3) on colour (CIELAB); the cluster that owns most of the border
  is background, every other cluster is specimen; scale bars are dropped as above.
All take (H, W, 3) uint8 RGB and return a bool mask; post-processing is separate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage as ndi
from scipy.cluster.vq import kmeans2, vq
from skimage.color import rgb2lab
from skimage.filters import threshold_otsu

from ..errors import SpecimaskError
from ..masks.postprocess import PostProcess, border_pixels


def grey(rgb: np.ndarray) -> np.ndarray:
    """Luma in 0..255 (float32)."""
    return rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)


def otsu_mask(rgb: np.ndarray) -> np.ndarray:
    g = grey(rgb)
    if g.min() == g.max():
        return np.zeros(g.shape, bool)
    return g < threshold_otsu(g)


def background_mask(rgb: np.ndarray, k: float = 4.0, min_contrast: float = 8.0,
                    remove_scale_bar: bool = True) -> np.ndarray:
    """Pixels whose smoothed grey is more than ``k`` noise sigmas from the background.

    Background level and noise come from the image border (median and MAD), where a
    specimen crop is nearly all background.
    """
    g = ndi.median_filter(grey(rgb), size=3)  # removes speckle without widening edges
    border = border_pixels(g)
    level = float(np.median(border))
    noise = 1.4826 * float(np.median(np.abs(border - level)))
    mask = np.abs(g - level) > max(k * noise, min_contrast)
    if remove_scale_bar:
        mask = drop_bottom_bar(mask)
    return mask


def drop_bottom_bar(mask: np.ndarray, max_height_fraction: float = 0.12) -> np.ndarray:
    """Remove flat objects touching the bottom border (scale bars), keep everything else."""
    labels, n = ndi.label(mask)
    if n == 0:
        return mask
    limit = max(3, int(round(max_height_fraction * mask.shape[0])))
    out = mask.copy()
    for index, slc in enumerate(ndi.find_objects(labels), start=1):
        rows, cols = slc
        touches_bottom = rows.stop == mask.shape[0]
        flat = (rows.stop - rows.start) <= limit and (cols.stop - cols.start) >= 2 * (
            rows.stop - rows.start)
        if touches_bottom and flat:
            out[slc][labels[slc] == index] = False
    return out


def kmeans_mask(rgb: np.ndarray, k: int = 3, seed: int = 0, sample: int = 20_000,
                remove_scale_bar: bool = True) -> np.ndarray:
    """k-means on Lab colour (fitted on a pixel sample for speed, applied to all).

    k = 3 rather than 2: with two clusters a small specimen often falls in with the paper
    while the colour chart takes the other cluster (demo set: Dice 0.66 at k=2, 0.86 at 3).
    """
    lab = rgb2lab(rgb[..., :3]).reshape(-1, 3).astype(np.float32)
    rng = np.random.default_rng(seed)
    fit = lab[rng.choice(len(lab), size=min(sample, len(lab)), replace=False)]
    k = min(k, len(np.unique(fit.round(2), axis=0)))  # no more clusters than colours
    if k < 2:
        return np.zeros(rgb.shape[:2], bool)
    centroids, _ = kmeans2(fit, k, minit="++", seed=rng)
    labels = vq(lab, centroids.astype(np.float32))[0].reshape(rgb.shape[:2])
    background = np.bincount(border_pixels(labels), minlength=k).argmax()
    mask = labels != background
    return drop_bottom_bar(mask) if remove_scale_bar else mask


METHODS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "otsu": otsu_mask,
    "background": background_mask,
    "kmeans": kmeans_mask,
}


@dataclass(frozen=True)
class ColdStart:
    """A method plus its post-processing: what ``specimask propose`` applies."""

    method: str = "otsu"
    post: PostProcess = PostProcess()

    def __post_init__(self):
        if self.method not in METHODS:
            raise SpecimaskError(
                f"unknown cold-start method {self.method!r}; choose one of {', '.join(METHODS)}"
            )

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        return self.post(METHODS[self.method](rgb))

    @classmethod
    def from_settings(cls, cs, **overrides) -> ColdStart:
        """The project's ``[coldstart]`` settings, with the overrides that are not None."""
        given = {k: o for k, o in overrides.items() if o is not None}
        method = given.pop("method", cs.method)
        return cls(method, replace(PostProcess.of(cs), **given))
