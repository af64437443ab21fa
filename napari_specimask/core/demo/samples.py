"""Deterministic synthetic specimen photographs with exact ground-truth masks.

Used by ``specimask demo``, the napari sample data and the method benchmarks.
Real labelled data is scarce and heavy, so we draw two typical kinds of
specimen images ourselves: herbarium sheets (``herbarium``) and ZooScan-like
plankton crops (``plankton``), from the shapes of ``shapes``.
Only numpy ``Generator(PCG64)`` draws are used, so a seed gives the same bytes
on every run. Deliberately free of napari / Qt imports.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .herbarium import make_herbarium_sheet
from .plankton import make_plankton


@dataclass(frozen=True)
class DemoSample:
    """One synthetic image with its truth mask."""

    name: str  # e.g. "herbarium_007"; unique and filesystem-safe
    kind: str  # "herbarium" or "plankton"
    split: str  # "pool", "val" or "test"
    image: np.ndarray  # (H, W, 3) uint8 RGB
    mask: np.ndarray  # (H, W) bool, True = specimen


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
