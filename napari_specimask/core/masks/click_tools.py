"""One-click mask edits: what a brush does in twenty strokes, one click does here.

Each takes the mask and the clicked pixel (row, col) and returns the new mask; the GUI
applies the difference as one undoable edit. On real sheets the frequent corrections
are a label or a colour chart taken in (remove the blob), a leaf the proposal missed
(grow a region from a click) and a leaf with holes (fill the clicked object).

- ``remove_blob``: the connected object under the click goes.
- ``grow_probability``: adds the connected region around the click where the model's
  probability is at least ``PROB_FRACTION`` of its value there (and above ``PROB_FLOOR``):
  a leaf the model saw faintly.
- ``grow_colour``: adds the connected region around the click whose colour (CIELAB) is
  within ``tolerance`` of the clicked colour (``skimage.segmentation.flood``), worked
  out in a window of ``WINDOW`` px around the click so a 60-megapixel sheet answers at
  once.
- ``fill_object_holes``: fills the holes of the object under the click only (filling all
  holes would also fill a label box).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.color import rgb2lab
from skimage.segmentation import flood

PROB_FRACTION = 0.5  # grow where p >= this share of p at the click ...
PROB_FLOOR = 0.05    # ... and above this
COLOUR_TOLERANCE = 12.0  # CIELAB distance (a just-visible difference is about 2.3)
WINDOW = 1024        # colour growing works in a square of this many px around the click


def _inside(mask: np.ndarray, point) -> tuple[int, int] | None:
    r, c = (int(round(v)) for v in point[-2:])
    return (r, c) if 0 <= r < mask.shape[0] and 0 <= c < mask.shape[1] else None


def object_at(mask: np.ndarray, point) -> np.ndarray | None:
    """The connected object of ``mask`` under ``point`` (8-connected), or None."""
    rc = _inside(mask, point)
    if rc is None or not mask[rc]:
        return None
    labels, _ = ndi.label(mask, structure=np.ones((3, 3), bool))
    return labels == labels[rc]


def remove_blob(mask: np.ndarray, point) -> np.ndarray:
    blob = object_at(mask, point)
    return mask if blob is None else mask & ~blob


def fill_object_holes(mask: np.ndarray, point) -> np.ndarray:
    blob = object_at(mask, point)
    return mask if blob is None else mask | ndi.binary_fill_holes(blob)


def grow_probability(mask: np.ndarray, probability: np.ndarray, point,
                     fraction: float = PROB_FRACTION,
                     floor: float = PROB_FLOOR) -> np.ndarray:
    rc = _inside(mask, point)
    if rc is None or probability[rc] <= floor:
        return mask
    level = max(floor, fraction * float(probability[rc]))
    labels, _ = ndi.label(probability >= level, structure=np.ones((3, 3), bool))
    return mask | (labels == labels[rc])


def grow_colour(mask: np.ndarray, rgb: np.ndarray, point,
                tolerance: float = COLOUR_TOLERANCE, window: int = WINDOW) -> np.ndarray:
    rc = _inside(mask, point)
    if rc is None:
        return mask
    r0, c0 = max(0, rc[0] - window // 2), max(0, rc[1] - window // 2)
    r1, c1 = min(mask.shape[0], r0 + window), min(mask.shape[1], c0 + window)
    lab = rgb2lab(np.asarray(rgb[r0:r1, c0:c1, :3]))
    local = (rc[0] - r0, rc[1] - c0)
    distance = np.linalg.norm(lab - lab[local], axis=-1)
    region = flood(distance, local, tolerance=tolerance, connectivity=2)
    out = mask.copy()
    out[r0:r1, c0:c1] |= region
    return out
