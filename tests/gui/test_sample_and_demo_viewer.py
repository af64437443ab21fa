"""napari side of the foundation: sample data through the manifest, the demo viewer."""

from __future__ import annotations

import numpy as np
import pytest

napari = pytest.importorskip("napari")
pytestmark = pytest.mark.gui


@pytest.mark.parametrize("key", ["herbarium", "plankton"])
def test_sample_data_opens_through_manifest(make_napari_viewer, key):
    viewer = make_napari_viewer()
    viewer.open_sample("napari-specimask", key)
    image, labels = viewer.layers
    assert image.rgb and image.data.dtype == np.uint8
    assert labels.data.shape == image.data.shape[:2]
    assert 0 < labels.data.mean() < 0.6  # a real specimen mask, not empty or full


def test_demo_viewer_shows_image_and_proposal(tmp_path, qtbot, monkeypatch):
    from napari_specimask._viewer import open_project
    from napari_specimask.core.demo_project import create_demo_project
    from napari_specimask.core.progress import run

    run(create_demo_project(tmp_path / "demo", n_herbarium=3, n_plankton=3)).close()
    shot = tmp_path / "demo.png"
    open_project(tmp_path / "demo", screenshot=shot)
    from PIL import Image

    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[0] > 200 and pixels.shape[1] > 300
    assert pixels.std() > 10  # real content, not an empty canvas
