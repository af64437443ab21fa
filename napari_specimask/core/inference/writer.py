"""The prediction pipeline's output side: model-size maps to files at the image's size.

``write_prediction`` maps one image's output back through its letterbox (exactly, without
a full-size float map: ``masks.letterbox``) and writes the mask as a 1-bit PNG, and the
optional probability and uncertainty maps as 8-bit PNGs at full size or at a stated
reduced size (``io.png``); every file atomically, so a kill leaves it whole or
absent. ``write_batch``
does a batch of them (what a Lightning ``BasePredictionWriter`` calls); ``WritePool``
runs them in worker processes, a bounded number in flight, while the network goes on.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..faults import crash_point
from ..io.atomic import publish, stage_file
from ..io.png import encode_png
from ..masks.letterbox import Letterbox
from .pipeline import quiet_worker, worker_context

MAPS_FULL, MAPS_NONE = "full", "none"
MASK_FORMAT = "png-1bit"


@dataclass(frozen=True)
class OutputSpec:
    """What a prediction run writes, and where."""

    out_dir: Path
    threshold: float = 0.5
    maps: str | int = MAPS_FULL  # "full", "none" or the maps' long side in px
    uncertainty: bool = False    # with TTA: write OUT/uncertainty/ too (as maps says)

    @property
    def kinds(self) -> tuple[str, ...]:
        if self.maps == MAPS_NONE:
            return ("mask",)
        return ("mask", "probability") + (("uncertainty",) if self.uncertainty else ())

    def path(self, kind: str, name: str) -> Path:
        folder = self.out_dir if kind == "mask" else self.out_dir / kind
        return folder / f"{name}.png"


def parse_maps(text: str | int) -> str | int:
    """``--maps``: full, none, or a long side in pixels."""
    if isinstance(text, int) or str(text).isdigit():
        if int(text) < 1:
            raise ValueError("--maps takes full, none or a size in pixels (1 or more)")
        return int(text)
    if text not in (MAPS_FULL, MAPS_NONE):
        raise ValueError(f"--maps takes full, none or a size in pixels, not {text!r}")
    return text


def write_prediction(spec: OutputSpec, name: str, lb: Letterbox, mean: np.ndarray,
                     unc: np.ndarray | None = None) -> str:
    """Write one image's outputs (each file whole or not at all); returns ``name``."""
    _write_png(spec.path("mask", name), lb.invert_mask(mean, spec.threshold))
    maps = [("probability", mean)] + ([("uncertainty", unc)] if unc is not None else [])
    for kind, values in maps:
        if kind not in spec.kinds:
            continue
        if spec.maps == MAPS_FULL:
            _write_png(spec.path(kind, name), lb.invert_bytes(values))
        else:
            _write_png(spec.path(kind, name), lb.invert_reduced(values, int(spec.maps)))
    return name


def write_batch(spec: OutputSpec, names: Sequence[str], letterboxes: Sequence[Letterbox],
                mean: np.ndarray, unc: np.ndarray | None = None) -> list[str]:
    """Write a batch's outputs: ``mean`` (and ``unc``) are (n, size, size) model-size."""
    return [write_prediction(spec, n, lb, mean[i], None if unc is None else unc[i])
            for i, (n, lb) in enumerate(zip(names, letterboxes))]


def _write_png(path: Path, image: np.ndarray) -> None:
    """A bool mask as a 1-bit PNG, a uint8 map as an 8-bit one (``io.png``)."""
    data = encode_png(image)
    tmp = stage_file(path, lambda t: t.write_bytes(data))
    try:
        crash_point("predict.staged")
        publish(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class WritePool:
    """``write_prediction`` in ``workers`` processes (0: here, at once), at most
    ``2 * workers`` images in flight; ``done()`` yields the names written, in order."""

    def __init__(self, spec: OutputSpec, workers: int):
        self.spec, self.limit = spec, max(1, 2 * workers)
        self.pool = cf.ProcessPoolExecutor(workers, mp_context=worker_context(),
                                           initializer=quiet_worker) if workers else None
        self.pending: collections.deque = collections.deque()
        for _ in range(workers):  # start them now, not when the first batch is done
            self.pool.submit(os.getpid)

    def submit(self, name: str, lb: Letterbox, mean: np.ndarray,
               unc: np.ndarray | None = None) -> Iterator[str]:
        """Queue one image; yields the names finished meanwhile (waiting while full)."""
        if self.pool is None:
            yield write_prediction(self.spec, name, lb, mean, unc)
            return
        self.pending.append(self.pool.submit(write_prediction, self.spec, name, lb,
                                             np.ascontiguousarray(mean),
                                             None if unc is None else np.ascontiguousarray(unc)))
        while self.pending and (len(self.pending) >= self.limit or self.pending[0].done()):
            yield self.pending.popleft().result()

    def drain(self) -> Iterator[str]:
        while self.pending:
            yield self.pending.popleft().result()

    def close(self) -> None:
        """Stop: queued writes are dropped, running ones finish (each file whole)."""
        if self.pool is not None:
            for f in self.pending:
                f.cancel()
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None
