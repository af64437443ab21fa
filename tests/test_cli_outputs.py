"""Commands that write one file per input never let two inputs share an output file."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from napari_specimask.cli import main
from napari_specimask.core.io.images import read_mask, write_mask_png
from napari_specimask.core.model.weights import ModelConfig


def sm(capsys, *args):
    code = main([str(a) for a in args])
    return code, capsys.readouterr().out


def save(path, value):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((20, 30, 3), value, np.uint8)).save(path)


class RedIsSpecimen(torch.nn.Module):
    """Foreground where the red channel is bright: each input's mask shows which it was."""

    def forward(self, x):
        return x[:, :1] * 100.0


@pytest.fixture
def clashing_images(tmp_path):
    imgs = tmp_path / "imgs"
    save(imgs / "a" / "leaf.png", 255)   # all foreground
    save(imgs / "b" / "leaf.png", 0)     # all background
    save(imgs / "x.png", 255)
    save(imgs / "x.tif", 0)
    return imgs


def test_predict_writes_every_clashing_input_and_reports_it(tmp_path, project, capsys,
                                                            clashing_images, monkeypatch):
    from napari_specimask.core.inference import predict

    monkeypatch.setattr(predict, "load_model", lambda p, v, d: (
        RedIsSpecimen(), ModelConfig(img_size=32), "v001"))
    out = tmp_path / "pred"
    code, text = sm(capsys, "predict", project.root, "--model", "v001", "--images",
                    clashing_images, "--out", out, "--tta", "2", "--maps", "full")
    assert code == 0 and "wrote 4 mask(s)" in text
    note = [line for line in text.splitlines() if line.startswith("renamed 4 output(s)")]
    assert len(note) == 1 and "a/leaf.png -> a/leaf.png" in note[0]
    expected = {"a/leaf": True, "b/leaf": False, "x__png": True, "x__tif": False}
    for name, foreground in expected.items():
        assert read_mask(out / f"{name}.png").all() == foreground, name
        assert (out / "probability" / f"{name}.png").exists()
        assert (out / "uncertainty" / f"{name}.png").exists()
    masks = [p.relative_to(out) for p in out.rglob("*.png")]
    assert sorted(m.as_posix() for m in masks if m.parts[0] not in ("probability",
                                                                    "uncertainty")) == [
        "a/leaf.png", "b/leaf.png", "x__png.png", "x__tif.png"]
    # a re-run into the same folder overwrites, under the same names
    assert sm(capsys, "predict", project.root, "--model", "v001", "--images",
              clashing_images, "--out", out)[0] == 0
    assert read_mask(out / "a" / "leaf.png").all()
    code, _ = sm(capsys, "predict", project.root, "--model", "v001", "--images",
                 clashing_images, "--out", clashing_images)
    assert code == 1  # masks written over the images they came from: refused


def test_postprocess_keeps_masks_that_differ_only_in_suffix(tmp_path, capsys):
    full = np.ones((20, 20), bool)
    write_mask_png(tmp_path / "in" / "x.png", full)
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(tmp_path / "in" / "x.tif")
    write_mask_png(tmp_path / "in" / "sub" / "y.png", full)
    code, text = sm(capsys, "postprocess", tmp_path / "in", "--out", tmp_path / "o")
    assert code == 0 and "wrote 3 post-processed mask(s)" in text
    assert "renamed 2 output(s)" in text and "x.tif -> x__tif.png" in text
    assert read_mask(tmp_path / "o" / "x__png.png").all()
    assert not read_mask(tmp_path / "o" / "x__tif.png").any()
    assert read_mask(tmp_path / "o" / "sub" / "y.png").all()  # unique: mirrored as before
    assert not (tmp_path / "o" / "x.png").exists()


def test_export_names_shared_stems_by_id_and_reports_it(tmp_path, capsys, rgb_image):
    imgs = tmp_path / "imgs"
    for i, rel in enumerate(["a/leaf.png", "b/leaf.png", "Leaf.png", "root.png"]):
        (imgs / rel).parent.mkdir(parents=True, exist_ok=True)  # Leaf: one file with leaf
        Image.fromarray(np.roll(rgb_image, 3 * i, axis=1)).save(imgs / rel)  # on macOS
    proj = tmp_path / "proj"
    assert sm(capsys, "init", proj, "--images", imgs)[0] == 0
    assert sm(capsys, "propose", proj, "--method", "otsu")[0] == 0
    code, text = sm(capsys, "export", proj, "--out", tmp_path / "out", "--which", "coldstart")
    assert code == 0 and "wrote 4 cold-start mask(s)" in text
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len({f.casefold() for f in files}) == 4 and "root.png" in files
    assert sum(f.casefold().startswith("leaf__") for f in files) == 3
    assert "renamed 3 output(s)" in text and "leaf.png -> " in text
