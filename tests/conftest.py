from __future__ import annotations

import io
import tarfile
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from napari_specimask.core.project import Project


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
