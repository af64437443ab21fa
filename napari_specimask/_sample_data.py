"""napari sample data: one synthetic herbarium sheet and one plankton crop, with true masks."""

from __future__ import annotations

import numpy as np

from napari_specimask.core.demo.herbarium import make_herbarium_sheet
from napari_specimask.core.demo.plankton import make_plankton


def _layers(image: np.ndarray, mask: np.ndarray, name: str) -> list[tuple]:
    return [
        (image, {"name": name, "rgb": True}, "image"),
        (mask.astype(np.uint8), {"name": f"{name} true mask", "opacity": 0.4}, "labels"),
    ]


def herbarium_sample() -> list[tuple]:
    return _layers(*make_herbarium_sheet(np.random.default_rng(1)), "herbarium sheet")


def plankton_sample() -> list[tuple]:
    return _layers(*make_plankton(np.random.default_rng(1)), "plankton")
