"""Importing a folder: good files go in, each bad one is skipped with its reason."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
from PIL import Image

from napari_specimask.core.exchange.image_import import import_images
from napari_specimask.core.progress import run


def _save(path, arr):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


@pytest.fixture
def folder(tmp_path, rgb_image):
    d = tmp_path / "imgs"
    _save(d / "good.png", rgb_image)
    _save(d / "sub" / "other.jpg", rgb_image[::-1])
    return d


def _skips(report):
    return {p.split("/")[-1]: reason for p, reason in ((s.path, s.reason) for s in report.skipped)}


def test_imports_good_images_with_relative_paths(project, folder):
    report = run(import_images(project, folder))
    assert len(report.added) == 2 and not report.skipped
    recs = project.images()
    assert {r.relpath for r in recs} == {"../imgs/good.png", "../imgs/sub/other.jpg"}
    assert all(r.role == "pool" and r.status == "unlabeled" for r in recs)
    assert (recs[0].height, recs[0].width) == (40, 60)


def test_masks_are_paired_and_recorded(project, folder, tmp_path, rgb_image):
    m = np.zeros((40, 60), np.uint8)
    m[10:30, 15:45] = 255
    _save(tmp_path / "masks" / "good_mask.png", m)
    _save(tmp_path / "masks" / "sub" / "other.png", m // 255)  # 0/1 also fine
    report = run(import_images(project, folder, tmp_path / "masks", role="val"))
    assert report.masks == 2
    assert project.summary()["by_status"]["labeled"] == 2
    assert project.load_mask(1).sum() == 600
    assert project.annotations(1)[0]["origin"] == "imported"


def test_each_bad_input_is_skipped_with_a_reason(project, folder, tmp_path, rgb_image,
                                                monkeypatch):
    d = folder
    (d / "empty.png").write_bytes(b"")
    (d / "readme.jpg").write_text("not a picture")
    (d / "notes.txt").write_text("field notes")
    noise = np.random.default_rng(0).integers(0, 255, (120, 120, 3), np.uint8)
    _save(d / "whole.png", noise)
    data = (d / "whole.png").read_bytes()
    (d / "truncated.png").write_bytes(data[: len(data) // 3])
    (d / "whole.png").unlink()
    (d / "corrupt.tif").write_bytes(b"MM\x00*" + b"\x00\x01" * 40)
    _save(d / "huge.png", np.zeros((400, 400), np.uint8))
    _save(d / "good_copy.png", rgb_image)  # same bytes as good.png: duplicate
    _save(d / "locked.png", rgb_image[:, ::-1])
    _save(d / "fougère à fleurs.png", rgb_image[:20])  # odd name: imported fine
    masks = tmp_path / "masks"
    _save(masks / "sub" / "other.png", np.arange(2400, dtype=np.uint8).reshape(40, 60))
    _save(masks / "good.png", np.zeros((10, 10), np.uint8))
    project.settings.images.max_pixels = 100_000
    real_open = builtins.open

    def deny(file, *a, **kw):  # mode 000 as seen by a normal user (tests may run as root)
        if str(file).endswith("locked.png"):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *a, **kw)

    monkeypatch.setattr(builtins, "open", deny)
    report = run(import_images(project, d, masks))
    skips = _skips(report)
    assert "empty" in skips["empty.png"]
    assert "not an image" in skips["readme.jpg"]
    assert "unsupported file type '.txt'" in skips["notes.txt"]
    assert "truncated" in skips["truncated.png"]
    assert "TIFF" in skips["corrupt.tif"]
    assert "over the limit" in skips["huge.png"]
    assert "duplicate of ../imgs/good.png" in skips["good_copy.png"]
    assert "permission denied" in skips["locked.png"]
    assert "distinct values" in skips["other.png"]  # the mask of sub/other.jpg
    assert "never resized" in skips["good.png"]     # the mask of good.png
    assert all(s.path.endswith(name) for s in report.skipped for name in [s.path.split("/")[-1]])
    # the good images still went in, the odd name among them; bad masks left images unlabeled
    names = {r.relpath.split("/")[-1] for r in project.images()}
    assert names == {"good.png", "other.jpg", "fougère à fleurs.png"}
    assert project.summary()["by_status"]["labeled"] == 0


def test_reimport_is_idempotent(project, folder):
    run(import_images(project, folder))
    again = run(import_images(project, folder))
    assert not again.added and all("duplicate" in s.reason for s in again.skipped)


def test_stop_event_ends_import_early(project, folder):
    import threading

    stop = threading.Event()
    stop.set()
    report = run(import_images(project, folder, stop=stop))
    assert report.stopped and not report.added
