"""npe2 writer: a Labels layer saved as a binary PNG mask (0/255), atomically."""

from __future__ import annotations

import numpy as np

from napari_specimask.core.io.images import write_mask_png


def write_labels_png(path: str, data, meta: dict) -> list[str]:
    data = np.asarray(data)
    if data.ndim != 2:
        raise ValueError(f"{path}: only 2-D labels can be saved as a mask, not {data.shape}")
    write_mask_png(path, data > 0)
    return [path]
