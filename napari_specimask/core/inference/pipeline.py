"""The prediction pipeline's input side: image paths to letterboxed model-size tensors.

``ImageDataset`` is a ``torch.utils.data.Dataset``: item i is image i decoded at the
smallest scale that covers twice the model input (``io.reduced``; JPEGs at 1/2 to 1/8,
others whole), letterboxed, with the geometry needed to map the network's output back to the
original size. A ``DataLoader`` with worker processes (``make_loader``) decodes while the
network runs; Lightning's ``trainer.predict`` can take the same dataset and shard it across
ranks. ``network_batches`` runs the network on what the loader gives and hands each batch's
model-size maps to the output side (``inference.writer``).

Worker processes fork from the command line on Linux (nothing is imported again) and
spawn elsewhere; in a process that has napari or Qt loaded they are not started at all
(``worker_count``), so no worker ever carries the GUI.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..errors import ImageReadError, SpecimaskError
from ..io.images import to_rgb8
from ..io.reduced import read_reduced
from ..masks.letterbox import Letterbox
from .tta import View, tta_probabilities, uncertainty

GUI_MODULES = ("napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "magicgui", "vispy")
PREFETCH = 2  # batches each loader worker prepares ahead


@dataclass
class Item:
    """One image ready for the network, or why it is not."""

    index: int
    image: np.ndarray | None     # (size, size, 3) uint8, letterboxed
    letterbox: Letterbox | None  # fitted to the image's full size
    error: str | None = None     # the read error, said as ImageReadError says it
    reason: str | None = None    # the same without the path
    factor: int = 1              # decoded at 1/factor

    def raise_error(self, path: str | Path) -> None:
        """Raise the read error here, as reading the image here would have."""
        if self.error is not None:
            raise ImageReadError(path, self.reason or self.error)


class ImageDataset(Dataset):
    """Paths -> letterboxed model inputs; unreadable images give an ``Item`` with
    ``error`` instead of raising, so one bad file does not stop a folder."""

    def __init__(self, paths: Sequence[str | Path], size: int, max_pixels: int | None):
        self.paths = [str(p) for p in paths]
        self.size, self.max_pixels = size, max_pixels

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Item:
        try:
            red = read_reduced(self.paths[index], self.size, self.max_pixels)
        except SpecimaskError as exc:
            return Item(index, None, None, str(exc), getattr(exc, "reason", str(exc)))
        lb = Letterbox.fit(red.height, red.width, self.size)
        return Item(index, lb.apply_scaled(to_rgb8(red.pixels)), lb, factor=red.factor)


@dataclass
class Batch:
    items: list[Item]        # every item of the batch, readable or not, in order
    images: torch.Tensor     # (n, size, size, 3) uint8 of the readable ones

    @property
    def readable(self) -> list[Item]:
        return [it for it in self.items if it.error is None]

    def pin_memory(self) -> Batch:
        """What the loader's ``pin_memory=True`` calls (for fast copies to a GPU)."""
        self.images = self.images.pin_memory()
        return self


def collate(items: list[Item]) -> Batch:
    good = [it.image for it in items if it.error is None]
    images = torch.from_numpy(np.stack(good)) if good else torch.empty(0, dtype=torch.uint8)
    for it in items:
        it.image = None  # the tensor holds them now; do not send them twice
    return Batch(items, images)


def gui_loaded() -> bool:
    return any(name in sys.modules for name in GUI_MODULES)


def worker_count(requested: int | None, n_images: int, batch: int) -> int:
    """Loader workers: ``requested`` (None: up to 2, fewer for a batch or less), none in
    a process that has napari or Qt loaded."""
    if gui_loaded() or n_images == 0:
        return 0
    if requested is None:
        requested = 0 if n_images <= batch else min(2, os.cpu_count() or 1)
    return max(0, requested)


def worker_context():
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return multiprocessing.get_context(method)


def quiet_worker(*_) -> None:
    """Workers leave Ctrl-C to the main process, which stops them, and end by themselves
    within a second when it is gone (kill -9, pre-emption): nothing is left running."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="specimask-parent-watch", daemon=True).start()


def make_loader(dataset: Dataset, batch_sampler: Iterable[list[int]], workers: int,
                pin_memory: bool = False) -> DataLoader:
    """Batches in order; each of ``workers`` processes holds at most ``PREFETCH``."""
    extra = dict(multiprocessing_context=worker_context(), worker_init_fn=quiet_worker,
                 prefetch_factor=PREFETCH) if workers else {}
    return DataLoader(dataset, batch_sampler=batch_sampler, num_workers=workers,
                      collate_fn=collate, pin_memory=pin_memory, **extra)


def batches_of(indices: Sequence[int], size: int) -> list[list[int]]:
    return [list(indices[i : i + size]) for i in range(0, len(indices), size)]


@dataclass
class Maps:
    """The network's model-size output for the readable items of a batch."""

    batch: Batch
    mean: np.ndarray                # (n, size, size) float32, mean over the TTA views
    uncertainty: np.ndarray | None  # (n, size, size) float32, with several views


def network_batches(model, config, loader: Iterable[Batch], views: list[View], device,
                    precision: str, measure: str = "jsd", alpha: float = 0.5,
                    with_uncertainty: bool | None = None) -> Iterator[Maps]:
    """Run every batch through the network (one call per batch, all views at once); the
    uncertainty map comes with several views unless ``with_uncertainty`` says."""
    if with_uncertainty is None:
        with_uncertainty = len(views) > 1
    for batch in loader:
        if not len(batch.images):
            yield Maps(batch, np.empty((0, config.img_size, config.img_size), np.float32),
                       None)
            continue
        x = batch.images.to(device, non_blocking=True).permute(0, 3, 1, 2).float().div_(255.0)
        probs = tta_probabilities(model, x, views, config.mean, config.std, device, precision)
        unc = uncertainty(probs, measure, alpha).cpu().numpy() if with_uncertainty else None
        yield Maps(batch, probs.mean(0).cpu().numpy(), unc)


def prepare_model(model, device):
    return model.to(device).to(memory_format=torch.channels_last).eval()
