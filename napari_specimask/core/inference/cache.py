"""Predictions cached on disk per model version, so showing an image again is instant.

``PROJECT/cache/<version>/tta<N>/probability/<id>.png`` and ``.../uncertainty/<id>.png``
hold 8-bit maps at the image's original size (1/255 resolution is plenty for display,
contours and QA at threshold 0.5). The cache is derived data: deleting it loses nothing.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import SpecimaskError
from ..io.images import read_image, write_image
from ..masks.letterbox import to_byte
from ..model.cache import shared_model
from ..model.weights import WEIGHTS_FILE
from ..progress import Job, Progress, stopped
from ..store.project import CACHE_DIR, MODELS_DIR, Project
from .predict import default_device, predict_images
from .tta import make_views


@dataclass
class CachedPrediction:
    probability: np.ndarray          # float32 [0, 1], original size
    uncertainty: np.ndarray | None   # float32 [0, 1], with TTA > 1

    @property
    def mask(self) -> np.ndarray:
        return self.probability >= 0.5


def _folder(project: Project, version: str, tta: int) -> Path:
    return project.root / CACHE_DIR / version / f"tta{tta}"


def cached_prediction(project: Project, version: str, image_id: int,
                      tta: int = 8) -> CachedPrediction | None:
    folder = _folder(project, version, tta)
    prob = folder / "probability" / f"{image_id}.png"
    if not prob.exists():
        return None
    unc = folder / "uncertainty" / f"{image_id}.png"
    return CachedPrediction(read_image(prob, None).astype(np.float32) / 255.0,
                            read_image(unc, None).astype(np.float32) / 255.0
                            if unc.exists() else None)


def compute_predictions(project: Project, version: str, image_ids: list[int], tta: int = 8,
                        measure: str = "jsd", device=None,
                        stop: threading.Event | None = None) -> Job[int]:
    """Predict the images not yet cached for (version, tta); returns how many were run."""
    todo = [i for i in image_ids if cached_prediction(project, version, i, tta) is None]
    if not todo:
        return 0
    device = device or default_device()
    model, config, _ = shared_model(project, version, device)
    records = project.images_by_id(todo)
    by_path = {project.image_path(r): r.id for r in records}
    folder = _folder(project, version, tta)
    weights = project.root / MODELS_DIR / version / WEIGHTS_FILE
    done = 0
    yield Progress(0, len(records), f"predicting with {version}")
    for pred in predict_images(model, config, list(by_path), device, batch_size=8,
                               max_pixels=project.settings.images.max_pixels,
                               views=make_views(tta), measure=measure):
        image_id = by_path[pred.source]
        if not weights.exists():  # removed meanwhile: do not bring its cache back
            raise SpecimaskError(f"model {version} was removed while predicting; "
                                 "nothing more is cached for it")
        write_image(folder / "probability" / f"{image_id}.png", to_byte(pred.probability))
        if pred.uncertainty is not None:
            write_image(folder / "uncertainty" / f"{image_id}.png", to_byte(pred.uncertainty))
        done += 1
        yield Progress(done, len(records), pred.key)
        if stopped(stop):
            break
    return done
