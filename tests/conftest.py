from __future__ import annotations

import numpy as np
import pytest

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
