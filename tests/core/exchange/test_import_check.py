"""What import checks of each image without a full decode (``io.validate``): damaged files
are still refused, named, with the reason; shapes are those a full decode gives."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from napari_specimask.core.exchange import image_import
from napari_specimask.core.exchange.image_import import import_images
from napari_specimask.core.io.images import read_image
from napari_specimask.core.progress import run


def _jpeg(arr: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", **kw)
    return buf.getvalue()


def _noise(h: int, w: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (h, w, 3), np.uint8)


def _skips(report) -> dict[str, str]:
    return {Path(s.path).name: s.reason for s in report.skipped}


def _shapes(project) -> dict[str, tuple[int, int]]:
    return {Path(r.relpath).name: (r.height, r.width) for r in project.images()}


def test_damaged_jpegs_and_pngs_refused_by_name(project, tmp_path):
    d = tmp_path / "sheets"
    d.mkdir()
    data = _jpeg(_noise(480, 320), quality=90)
    (d / "whole.jpg").write_bytes(data)
    (d / "truncated.jpg").write_bytes(data[: len(data) // 2])
    (d / "no_end.jpg").write_bytes(data[:-200])
    broken = bytearray(data)
    dht = broken.index(b"\xff\xc4")
    broken[dht + 5 : dht + 21] = b"\xff" * 16  # a Huffman table that cannot be
    (d / "corrupt.jpg").write_bytes(bytes(broken))
    buf = io.BytesIO()
    Image.fromarray(_noise(300, 400)).save(buf, format="PNG")
    (d / "truncated.png").write_bytes(buf.getvalue()[: len(buf.getvalue()) * 2 // 3])
    report = run(import_images(project, d))
    assert _shapes(project) == {"whole.jpg": (480, 320)}
    skips = _skips(report)
    assert set(skips) == {"truncated.jpg", "no_end.jpg", "corrupt.jpg", "truncated.png"}
    assert all(r.startswith("image data is truncated or corrupt") for r in skips.values())
    assert {Path(s.path).parent for s in report.skipped} == {d}


def test_exif_rotated_jpeg_recorded_and_paired_in_display_shape(project, tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # stored 120 high x 200 wide, shown 200 high x 120 wide
    (tmp_path / "imgs").mkdir()
    (tmp_path / "imgs" / "turned.jpg").write_bytes(_jpeg(_noise(120, 200), exif=exif))
    masks = tmp_path / "masks"
    masks.mkdir()
    mask = np.zeros((200, 120), np.uint8)
    mask[50:150, 30:90] = 255
    Image.fromarray(mask).save(masks / "turned.png")
    report = run(import_images(project, tmp_path / "imgs", masks))
    assert report.masks == 1 and not report.skipped
    assert _shapes(project) == {"turned.jpg": (200, 120)}
    assert project.load_mask(report.added[0]).shape == (200, 120)


def _full_decode(path, max_pixels):
    return read_image(path, max_pixels).shape[:2]


def _import_both_ways(tmp_path, folder) -> tuple[dict, dict]:
    """Shapes recorded by import as it is and with the old full-decode check."""
    from napari_specimask.core.store.project import Project

    shapes = []
    for name, check in (("new", image_import.check_image), ("old", _full_decode)):
        with pytest.MonkeyPatch.context() as mp, Project.create(tmp_path / name) as project:
            mp.setattr(image_import, "check_image", check)
            report = run(import_images(project, folder))
            assert not report.skipped
            shapes.append(_shapes(project))
    return shapes[0], shapes[1]


def test_demo_images_get_the_shapes_a_full_decode_gives(tmp_path):
    from napari_specimask.core.demo.samples import demo_samples
    from napari_specimask.core.io.images import write_image

    folder = tmp_path / "demo"
    for s in demo_samples(n_herbarium=3, n_plankton=3, seed=4):
        write_image(folder / f"{s.name}.png", s.image)
        Image.fromarray(s.image).save(folder / f"{s.name}.jpg")
    new, old = _import_both_ways(tmp_path, folder)
    assert new == old and len(new) == 12


def test_real_sheets_get_the_shapes_a_full_decode_gives(tmp_path, real_sheets):
    folder = tmp_path / "real"
    folder.mkdir()
    for path in sorted(real_sheets.glob("*.jpg"))[::50]:
        (folder / path.name).symlink_to(path)
    new, old = _import_both_ways(tmp_path, folder)
    assert new == old and len(new) >= 6
