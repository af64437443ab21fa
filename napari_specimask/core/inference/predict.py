"""Prediction: probability maps, masks and (with TTA) uncertainty at original size.

Images are letterboxed to the model size and go through the network in batches with
their TTA views (channels-last, inference mode, on the GPU when there is one); each map
is mapped back with the letterbox inverse, which writes a single original-size float32
array, so a 9000 x 6000 herbarium scan never needs several full-size float copies.
Plain prediction is TTA with the identity view only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import SpecimaskError
from ..io.files import list_files
from ..io.images import is_image_path, read_image, to_rgb8, write_image, write_mask_png
from ..io.naming import output_names
from ..masks.letterbox import Letterbox
from ..masks.postprocess_folder import PREDICTION_MAP_DIRS
from ..model.weights import ModelConfig, load_model
from ..progress import Job, Progress, stopped
from ..store.project import Project
from .tta import View, make_views, to_unit_tensor, tta_probabilities, uncertainty


def default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class Prediction:
    key: str                          # output name (image stem)
    probability: np.ndarray           # (H, W) float32 at the original size
    source: Path
    uncertainty: np.ndarray | None = None  # (H, W) float32 in [0, 1], with TTA


def predict_images(model, config: ModelConfig, paths: Iterable[Path], device=None,
                   batch_size: int = 8, max_pixels: int | None = None,
                   on_skip: Callable[[Path, str], None] | None = None,
                   views: list[View] | None = None, measure: str = "jsd",
                   precision: str | None = None) -> Iterator[Prediction]:
    """Yield an original-size probability map (and, with several views, an uncertainty
    map) per readable image; unreadable ones go to ``on_skip(path, reason)``.

    ``batch_size`` counts network inputs, so with V views each call takes batch_size // V
    images. Precision: fp32 on CPU unless asked, mixed on CUDA (masks are written here).
    """
    device = device or default_device()
    views = views or [View()]
    precision = precision or ("auto" if device.type == "cuda" else "32")
    model = model.to(device).to(memory_format=torch.channels_last).eval()
    per_call = max(1, batch_size // len(views))
    batch: list[tuple[Path, Letterbox, np.ndarray]] = []

    def flush():
        probs = tta_probabilities(model, to_unit_tensor([b for _, _, b in batch]), views,
                                  config.mean, config.std, device, precision)
        mean = probs.mean(0).cpu().numpy()
        unc = uncertainty(probs, measure).cpu().numpy() if len(views) > 1 else None
        for i, (path, lb, _) in enumerate(batch):
            yield Prediction(path.stem, lb.invert(mean[i]), path,
                             lb.invert(unc[i]) if unc is not None else None)
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
        if len(batch) == per_call:
            yield from flush()
    if batch:
        yield from flush()


@dataclass
class PredictReport:
    version: str
    out_dir: Path
    written: list[str] = field(default_factory=list)  # output names (under out_dir)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (input, output name)


def predict_to_folder(project: Project, out_dir: str | Path, version: str | None = None,
                      images_dir: str | Path | None = None, batch_size: int = 8,
                      threshold: float = 0.5, device=None, tta: int = 1,
                      measure: str = "jsd", stop: threading.Event | None = None
                      ) -> Job[PredictReport]:
    """Write ``OUT/<name>.png`` (mask 0/255), ``OUT/probability/<name>.png`` (x 255) and,
    with ``tta`` > 1, ``OUT/uncertainty/<name>.png`` (x 255) for every project image or
    every image under ``images_dir``. The name is the stem unless two inputs share it
    (``io.naming.output_names``; the renames are reported); a re-run overwrites."""
    device = device or default_device()
    model, config, version = load_model(project, version, device)
    if images_dir is not None:
        paths = [p for p in list_files(images_dir) if is_image_path(p)]
    else:
        paths = [project.image_path(r) for r in project.images()]
    if not paths:
        raise SpecimaskError(f"no images to predict in {images_dir or project.root}")
    out_dir = Path(out_dir)
    if images_dir is not None and out_dir.resolve() == Path(images_dir).resolve():
        raise SpecimaskError(f"{out_dir}: --out must differ from the images folder")
    report = PredictReport(version, out_dir)
    names, renamed = output_names(paths, images_dir, reserved=PREDICTION_MAP_DIRS)
    name_of = dict(zip(paths, names))
    renamed_from = {name: src for src, name in renamed}
    preds = predict_images(model, config, paths, device, batch_size,
                           project.settings.images.max_pixels,
                           on_skip=lambda p, why: report.skipped.append((str(p), why)),
                           views=make_views(tta), measure=measure)
    for i, pred in enumerate(preds):
        if stopped(stop):
            break
        yield Progress(i + len(report.skipped), len(paths), pred.key)
        name = name_of[pred.source]
        write_mask_png(out_dir / f"{name}.png", pred.probability >= threshold)
        write_image(out_dir / "probability" / f"{name}.png", to_byte(pred.probability))
        if pred.uncertainty is not None:
            write_image(out_dir / "uncertainty" / f"{name}.png", to_byte(pred.uncertainty))
        report.written.append(name)
        if name in renamed_from:  # report only what was written
            report.renamed.append((renamed_from[name], name))
    yield Progress(len(paths), len(paths), "done")
    return report


def to_byte(unit: np.ndarray) -> np.ndarray:
    """A [0, 1] map as uint8 0..255 (rounded)."""
    return np.clip(unit * 255.0 + 0.5, 0, 255).astype(np.uint8)
