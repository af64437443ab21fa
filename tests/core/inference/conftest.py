"""Stand-ins for the prediction pipeline's tests: a network whose masks mean something
without training, demo images as PNG and JPEG, and the old per-image path to compare with."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from napari_specimask.core.inference import predict
from napari_specimask.core.masks.letterbox import to_byte
from napari_specimask.core.model.weights import IMAGENET_MEAN, IMAGENET_STD, ModelConfig


class DarkIsSpecimen(torch.nn.Module):
    """Probability of specimen from darkness (demo sheets and crops are light behind a
    darker specimen), smoothed over 5 px: masks like a trained model's, soft edges too."""

    def forward(self, x):
        mean = torch.tensor(IMAGENET_MEAN, device=x.device)[:, None, None]
        std = torch.tensor(IMAGENET_STD, device=x.device)[:, None, None]
        grey = (x * std + mean).mean(1, keepdim=True)
        return 20.0 * (0.6 - torch.nn.functional.avg_pool2d(grey, 5, 1, 2))


@pytest.fixture
def dark_model(monkeypatch):
    """``predict.load_model`` gives DarkIsSpecimen at 64 px, as version v001."""
    config = ModelConfig(img_size=64, weights_sha256="dark")
    monkeypatch.setattr(predict, "load_model", lambda p, v, d: (DarkIsSpecimen(), config,
                                                                "v001"))
    return DarkIsSpecimen(), config


@pytest.fixture(scope="session")
def demo_images(tmp_path_factory) -> Path:
    """Six demo images (sheets ~390 x 250, crops ~150 x 150), each as PNG and JPEG."""
    from PIL import Image

    from napari_specimask.core.demo.samples import demo_samples

    folder = tmp_path_factory.mktemp("demo_images")
    for s in demo_samples(n_herbarium=3, n_plankton=3, seed=3):
        Image.fromarray(s.image).save(folder / f"{s.name}.png")
        Image.fromarray(s.image).save(folder / f"{s.name}_jpeg.jpg", quality=92)
    return folder


def legacy_masks(model, config, paths, threshold: float = 0.5) -> dict[str, tuple]:
    """The old per-image path: full decode, letterbox, network, float inverse at full
    size; (mask, probability as bytes) by file name."""
    out = {}
    for pred in predict.predict_images(model, config, list(paths), batch_size=8):
        out[pred.source.name] = (pred.probability >= threshold, to_byte(pred.probability))
    return out


def random_unet() -> torch.nn.Module:
    from napari_specimask.core.model.factory import create_model

    torch.manual_seed(0)
    return create_model("unet", "resnet18", None).eval()


def all_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, the manifest and lock left out."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".specimask-predict")}


def image_array(path: Path) -> np.ndarray:
    from napari_specimask.core.io.images import read_image

    return read_image(path, None)


@pytest.fixture(scope="session")
def kit():
    """The helpers above, for the tests of this folder."""
    return SimpleNamespace(legacy_masks=legacy_masks, random_unet=random_unet,
                           all_files=all_files, image_array=image_array,
                           DarkIsSpecimen=DarkIsSpecimen)
