from __future__ import annotations

import io
import os
import tarfile
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from napari_specimask.core.store.project import Project


@pytest.fixture(scope="session")
def real_sheets() -> Path:
    """The folder of real herbarium sheet photographs: ``SPECIMASK_REAL_SHEETS``, else
    the Violaceae pool next to the checkout (``../shared/data/violaceae_pool``)."""
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "violaceae_pool"
    folder = Path(os.environ.get("SPECIMASK_REAL_SHEETS", default))
    if not any(folder.glob("*.jpg")):
        pytest.skip(f"no real sheets in {folder} (set SPECIMASK_REAL_SHEETS to a folder "
                    "of herbarium JPEGs)")
    return folder


@pytest.fixture
def rgb_image() -> np.ndarray:
    """A 40 x 60 RGB image with a dark blob (a tiny 'specimen')."""
    img = np.full((40, 60, 3), 230, np.uint8)
    img[10:30, 15:45] = (40, 90, 30)
    return img


@pytest.fixture
def project(tmp_path) -> Project:
    p = Project.create(tmp_path / "proj")
    yield p
    p.close()


def _png(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def encode():
    """Bytes of stand-in files (served over HTTP, packed in archives):
    ``encode.png(array)`` and ``encode.tar_gz({member: bytes})``."""
    return SimpleNamespace(png=_png, tar_gz=_tar_gz)


@pytest.fixture
def registered_versions():
    """``registered_versions(project, [dice, ...])``: model versions as training leaves
    them (weights file, config, metrics, status) and a few cached predictions each, with
    tiny stand-in weights: for what lists, activates and removes versions, not loads."""
    import torch

    from napari_specimask.core.model.weights import ModelConfig, save_weights
    from napari_specimask.core.store.project import CACHE_DIR
    from napari_specimask.core.store.registry import finish_version, new_version

    def make(project: Project, dices: list[float | None]) -> list[str]:
        versions = []
        for i, dice in enumerate(dices):
            config = ModelConfig(img_size=64)
            v = new_version(project, versions[-1] if versions else None, i, [1, 2], asdict(config))
            save_weights(project.root / "models" / v, {"w": torch.full((1000,), float(i))},
                         config)
            finish_version(project, v, "ready", {"best_val_dice": dice})
            cache = project.root / CACHE_DIR / v / "tta2" / "probability"
            cache.mkdir(parents=True)
            for j in range(3):
                (cache / f"{j}.png").write_bytes(_png(np.full((8, 8), 100, np.uint8)))
            versions.append(v)
        return versions

    return make
