"""Mask clean-up used after cold-start proposals and model predictions.

Dilation with a square kernel (``kernel`` px, ``iters`` times) as the herbarium workflow
did to recover thin margins, then hole filling and small-object removal.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi
from skimage import morphology


@dataclass(frozen=True)
class PostProcess:
    """The clean-up steps and their defaults, in one place (the CLI, settings and
    cold start all build one of these): dilation off, holes kept, specks removed."""

    kernel: int = 3
    iters: int = 0
    fill_holes: bool = False
    min_size: int = 30

    def __post_init__(self):
        if self.kernel < 1 or self.iters < 0 or self.min_size < 0:
            raise ValueError(f"kernel must be >= 1 and iters, min_size >= 0; got {self}")

    def __call__(self, mask: np.ndarray) -> np.ndarray:
        return postprocess(mask, self.kernel, self.iters, self.fill_holes, self.min_size)


def postprocess(mask: np.ndarray, kernel: int = PostProcess.kernel,
                iters: int = PostProcess.iters, fill_holes: bool = PostProcess.fill_holes,
                min_size: int = PostProcess.min_size) -> np.ndarray:
    """Dilate, fill holes, drop small objects; defaults are ``PostProcess``'s."""
    out = np.asarray(mask, dtype=bool)
    if kernel > 1 and iters > 0:
        out = ndi.binary_dilation(out, structure=np.ones((kernel, kernel), bool),
                                  iterations=iters)
    if fill_holes:
        out = ndi.binary_fill_holes(out)
    if min_size > 0:
        out = remove_small(out, min_size)
    return out


def remove_small(mask: np.ndarray, min_size: int) -> np.ndarray:
    """Drop connected objects of fewer than ``min_size`` pixels."""
    if _NEW_SKIMAGE:
        return morphology.remove_small_objects(mask, max_size=min_size - 1)
    return morphology.remove_small_objects(mask, min_size=min_size)


# scikit-image 0.26 replaced min_size (objects smaller go) by max_size (objects up to it
# go); support both so users need no particular release.
_NEW_SKIMAGE = "max_size" in inspect.signature(morphology.remove_small_objects).parameters
