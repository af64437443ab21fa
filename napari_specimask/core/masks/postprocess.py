"""Mask clean-up used after cold-start proposals and model predictions.

Dilation with a square kernel (``kernel`` px, ``iters`` times) as the herbarium workflow
did to recover thin margins, then hole filling and small-object removal.
"""

from __future__ import annotations

import inspect
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage as ndi
from skimage import morphology

from ..errors import SpecimaskError
from ..io.images import read_mask, write_mask_png
from ..progress import Job, Progress, stopped

if TYPE_CHECKING:
    from ..exchange.image_import import Skipped


@dataclass(frozen=True)
class PostProcess:
    kernel: int = 3
    iters: int = 0
    fill_holes: bool = False
    min_size: int = 30

    def __post_init__(self):
        if self.kernel < 1 or self.iters < 0 or self.min_size < 0:
            raise ValueError(f"kernel must be >= 1 and iters, min_size >= 0; got {self}")

    def __call__(self, mask: np.ndarray) -> np.ndarray:
        return postprocess(mask, self.kernel, self.iters, self.fill_holes, self.min_size)


def postprocess(mask: np.ndarray, kernel: int = 3, iters: int = 1,
                fill_holes: bool = True, min_size: int = 30) -> np.ndarray:
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


PREDICTION_MAP_DIRS = ("probability", "uncertainty")


def postprocess_folder(mask_dir: str | Path, out_dir: str | Path, post: PostProcess,
                       stop: threading.Event | None = None) -> Job[list[Skipped]]:
    """Apply ``post`` to every mask under ``mask_dir``, mirrored under ``out_dir`` as PNG.

    Bad masks are skipped and returned (path, reason); the rest are written atomically.
    The probability and uncertainty maps ``specimask predict`` writes beside its masks
    (``probability/``, ``uncertainty/``) are not masks and are left out.
    """
    from ..exchange.image_import import (  # importer depends on project; keep lazy
        Skipped,
        list_files,
    )

    mask_dir, out_dir = Path(mask_dir), Path(out_dir)
    if out_dir.resolve() == mask_dir.resolve():
        raise SpecimaskError(f"{out_dir}: --out must differ from the input folder")
    files = [f for f in list_files(mask_dir)
             if f.relative_to(mask_dir).parts[0] not in PREDICTION_MAP_DIRS]
    skipped: list[Skipped] = []
    for i, path in enumerate(files):
        if stopped(stop):
            break
        yield Progress(i, len(files), path.name)
        try:
            mask = read_mask(path, max_pixels=None)
        except SpecimaskError as exc:
            skipped.append(Skipped(str(path), str(exc.reason if hasattr(exc, "reason") else exc)))
            continue
        target = out_dir / path.relative_to(mask_dir).with_suffix(".png")
        write_mask_png(target, post(mask))
    yield Progress(len(files), len(files), "done")
    return skipped
