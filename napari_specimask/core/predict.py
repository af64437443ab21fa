"""Prediction: probability maps and masks at each image's original size.

Images are letterboxed to the model size and go through the network in batches
(channels-last, inference mode, on the GPU when there is one); each probability map is
mapped back with the letterbox inverse, which writes a single original-size float32
array, so a 9000 x 6000 herbarium scan never needs several full-size float copies.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .checkpoints import ModelConfig, load_model
from .dataset import normalise
from .errors import SpecimaskError
from .image_io import is_image_path, read_image, to_rgb8, write_image, write_mask_png
from .importer import list_files
from .letterbox import Letterbox
from .progress import Job, Progress, stopped
from .project import Project


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@torch.inference_mode()
def predict_batch(model: torch.nn.Module, boxed: list[np.ndarray], config: ModelConfig,
                  device: torch.device) -> np.ndarray:
    """Probabilities (N, size, size) float32 for letterboxed uint8 RGB images."""
    x = torch.stack([normalise(b, config.mean, config.std) for b in boxed]).to(device)
    x = x.contiguous(memory_format=torch.channels_last)
    with torch.autocast(device.type, enabled=device.type == "cuda"):
        logits = model(x)
    return logits.float().sigmoid()[:, 0].cpu().numpy()


@dataclass
class Prediction:
    key: str              # output name (image stem)
    probability: np.ndarray  # (H, W) float32 at the original size
    source: Path


def predict_images(model, config: ModelConfig, paths: Iterable[Path], device=None,
                   batch_size: int = 8, max_pixels: int | None = None,
                   on_skip: Callable[[Path, str], None] | None = None) -> Iterator[Prediction]:
    """Yield one original-size probability map per readable image, computed in batches;
    unreadable images go to ``on_skip(path, reason)`` and the rest go on."""
    device = device or default_device()
    model = model.to(device).to(memory_format=torch.channels_last).eval()
    batch: list[tuple[Path, Letterbox, np.ndarray]] = []

    def flush():
        probs = predict_batch(model, [b for _, _, b in batch], config, device)
        for (path, lb, _), prob in zip(batch, probs):
            yield Prediction(path.stem, lb.invert(prob), path)
        batch.clear()

    for path in paths:
        try:
            img = to_rgb8(read_image(path, max_pixels))
        except SpecimaskError as exc:
            if on_skip is None:
                raise
            on_skip(path, str(exc))
            continue
        lb = Letterbox.fit(*img.shape[:2], config.img_size)
        batch.append((path, lb, lb.apply(img)))
        del img
        if len(batch) == batch_size:
            yield from flush()
    if batch:
        yield from flush()


@dataclass
class PredictReport:
    version: str
    out_dir: Path
    written: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def predict_to_folder(project: Project, out_dir: str | Path, version: str | None = None,
                      images_dir: str | Path | None = None, batch_size: int = 8,
                      threshold: float = 0.5, device=None,
                      stop: threading.Event | None = None) -> Job[PredictReport]:
    """Write ``OUT/<stem>.png`` (mask 0/255) and ``OUT/probability/<stem>.png``
    (probability x 255) for every project image, or every image under ``images_dir``."""
    device = device or default_device()
    model, config, version = load_model(project, version, device)
    if images_dir is not None:
        paths = [p for p in list_files(images_dir) if is_image_path(p)]
    else:
        paths = [project.image_path(r) for r in project.images()]
    if not paths:
        raise SpecimaskError(f"no images to predict in {images_dir or project.root}")
    out_dir = Path(out_dir)
    report = PredictReport(version, out_dir)
    limit = project.settings.images.max_pixels
    preds = predict_images(model, config, paths, device, batch_size, limit,
                           on_skip=lambda p, why: report.skipped.append((str(p), why)))
    for i, pred in enumerate(preds):
        if stopped(stop):
            break
        yield Progress(i + len(report.skipped), len(paths), pred.key)
        write_mask_png(out_dir / f"{pred.key}.png", pred.probability >= threshold)
        prob8 = np.clip(pred.probability * 255.0 + 0.5, 0, 255).astype(np.uint8)
        write_image(out_dir / "probability" / f"{pred.key}.png", prob8)
        report.written.append(pred.key)
    yield Progress(len(paths), len(paths), "done")
    return report
