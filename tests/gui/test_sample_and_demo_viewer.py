"""napari side of the foundation: sample data through the manifest, the demo viewer."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("key", ["herbarium", "plankton"])
def test_sample_data_opens_through_manifest(make_napari_viewer, key):
    viewer = make_napari_viewer()
    viewer.open_sample("napari-specimask", key)
    image, labels = viewer.layers
    assert image.rgb and image.data.dtype == np.uint8
    assert labels.data.shape == image.data.shape[:2]
    assert 0 < labels.data.mean() < 0.6  # a real specimen mask, not empty or full


def test_gui_command_docks_widgets_and_saves_a_screenshot(tmp_path):
    """`specimask demo --screenshot` as a user runs it: a new process, widgets docked."""
    import subprocess
    import sys

    from PIL import Image

    from napari_specimask.core.demo.project import create_demo_project
    from napari_specimask.core.progress import run

    run(create_demo_project(tmp_path / "demo", n_herbarium=3, n_plankton=3)).close()
    shot = tmp_path / "gui.png"
    result = subprocess.run([sys.executable, "-m", "napari_specimask", "gui",
                             str(tmp_path / "demo"), "--screenshot", str(shot)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[0] > 600 and pixels.shape[1] > 1000
    assert pixels.std() > 10  # real content, not an empty canvas
    bad = subprocess.run([sys.executable, "-m", "napari_specimask", "gui",
                          str(tmp_path / "nowhere")], capture_output=True, text=True)
    assert bad.returncode == 1 and "not a specimask project" in bad.stderr
