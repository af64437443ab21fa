"""Reading every supported format, and a clear error for every bad file."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_specimask.core.errors import ImageReadError
from napari_specimask.core.io.images import (
    image_shape,
    read_image,
    read_mask,
    to_rgb8,
    write_mask_png,
)


def test_jpeg_png_rgb_grey(tmp_path, rgb_image):
    Image.fromarray(rgb_image).save(tmp_path / "a.png")
    Image.fromarray(rgb_image).save(tmp_path / "a.jpg", quality=95)
    Image.fromarray(rgb_image[..., 0]).save(tmp_path / "g.png")
    assert np.array_equal(read_image(tmp_path / "a.png"), rgb_image)
    assert read_image(tmp_path / "a.jpg").shape == (40, 60, 3)
    assert read_image(tmp_path / "g.png").shape == (40, 60)


def test_png_rgba_and_palette(tmp_path, rgb_image):
    rgba = np.dstack([rgb_image, np.full((40, 60), 200, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    Image.fromarray(rgb_image).convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "p.png")
    assert read_image(tmp_path / "rgba.png").shape == (40, 60, 4)
    pal = read_image(tmp_path / "p.png")
    assert pal.shape == (40, 60, 3) and abs(int(pal[20, 30, 1]) - 90) < 10


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [None, 3, 4])
def test_tiff_depths_and_channels(tmp_path, dtype, channels):
    shape = (21, 33) if channels is None else (21, 33, channels)
    data = np.random.default_rng(0).integers(0, np.iinfo(dtype).max, shape).astype(dtype)
    tifffile.imwrite(tmp_path / "t.tif", data, photometric="minisblack" if channels is None
                     else "rgb")
    out = read_image(tmp_path / "t.tif")
    assert out.dtype == dtype and np.array_equal(out, data)
    assert to_rgb8(out).shape == (21, 33, 3) and to_rgb8(out).dtype == np.uint8


def test_tiff_palette(tmp_path):
    idx = np.zeros((10, 12), np.uint8)
    idx[2:5, 3:9] = 1
    cmap = np.zeros((3, 256), np.uint16)
    cmap[:, 1] = (65535, 0, 0)  # index 1 is red
    tifffile.imwrite(tmp_path / "pal.tif", idx, photometric="palette", colormap=cmap)
    out = read_image(tmp_path / "pal.tif")
    assert out.shape == (10, 12, 3) and tuple(out[3, 4]) == (255, 0, 0)


def test_16bit_stretch_keeps_contrast():
    img = np.array([[1000, 4000]], np.uint16)  # a 12-bit camera
    assert tuple(to_rgb8(img)[0, :, 0]) == (0, 255)


def test_exif_orientation_applied(tmp_path, rgb_image):
    im = Image.fromarray(rgb_image)  # 60 wide, 40 high
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90 CW on display
    im.save(tmp_path / "rot.jpg", exif=exif.tobytes())
    assert read_image(tmp_path / "rot.jpg").shape[:2] == (60, 40)
    assert image_shape(tmp_path / "rot.jpg") == (60, 40)


def test_tiff_orientation_applied(tmp_path):
    data = np.arange(6, dtype=np.uint8).reshape(2, 3)
    tifffile.imwrite(tmp_path / "o.tif", data, extratags=[(274, "H", 1, 8, True)])
    assert read_image(tmp_path / "o.tif").shape == (3, 2)


@pytest.mark.parametrize("values, fg", [((0, 255), 255), ((0, 1), 1), ((3, 200), 200)])
def test_mask_two_valued(tmp_path, values, fg):
    arr = np.full((8, 9), values[0], np.uint8)
    arr[2:5, 2:6] = values[1]
    Image.fromarray(arr).save(tmp_path / "m.png")
    mask = read_mask(tmp_path / "m.png", (8, 9))
    assert mask.dtype == bool and mask.sum() == 12 and mask[3, 3] == (values[1] == fg)


def test_mask_bool_tiff_and_colour(tmp_path):
    b = np.zeros((6, 7), bool)
    b[1:3, 1:4] = True
    tifffile.imwrite(tmp_path / "b.tif", b)
    assert np.array_equal(read_mask(tmp_path / "b.tif"), b)
    rgb = np.zeros((6, 7, 3), np.uint8)
    rgb[b] = (255, 0, 0)
    Image.fromarray(rgb).save(tmp_path / "red.png")
    assert np.array_equal(read_mask(tmp_path / "red.png"), b)


def test_mask_write_read_roundtrip(tmp_path):
    m = np.random.default_rng(1).random((13, 17)) > 0.5
    write_mask_png(tmp_path / "x.png", m)
    assert np.array_equal(read_mask(tmp_path / "x.png"), m)
    assert set(np.unique(np.asarray(Image.open(tmp_path / "x.png")))) <= {0, 255}


# -- bad input: each message names the file ------------------------------------------


def _err(fn, *args, **kw) -> ImageReadError:
    with pytest.raises(ImageReadError) as info:
        fn(*args, **kw)
    return info.value


def test_error_empty_file(tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    e = _err(read_image, tmp_path / "empty.png")
    assert "empty.png" in str(e) and "empty" in e.reason


def test_error_not_an_image(tmp_path):
    (tmp_path / "notes.jpg").write_text("field notes, not a picture")
    e = _err(read_image, tmp_path / "notes.jpg")
    assert "notes.jpg" in str(e) and "not an image" in e.reason


def test_error_truncated(tmp_path, rgb_image):
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), np.uint8)).save(
        tmp_path / "full.png")
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    e = _err(read_image, tmp_path / "cut.png")
    assert "cut.png" in str(e) and "truncated" in e.reason


def test_error_corrupt_tiff(tmp_path):
    (tmp_path / "bad.tif").write_bytes(b"II*\x00" + b"\xff" * 64)
    e = _err(read_image, tmp_path / "bad.tif")
    assert "bad.tif" in str(e) and "TIFF" in e.reason


def test_error_decompression_bomb_refused_from_header(tmp_path):
    Image.new("L", (3000, 3000)).save(tmp_path / "big.png")
    e = _err(read_image, tmp_path / "big.png", max_pixels=1_000_000)
    assert "big.png" in str(e) and "9,000,000 pixels" in e.reason and "--max-pixels" in e.reason
    tifffile.imwrite(tmp_path / "big.tif", np.zeros((2000, 600), np.uint8))
    assert "over the limit" in _err(read_image, tmp_path / "big.tif", max_pixels=10_000).reason


def test_error_permission_denied(tmp_path, rgb_image, monkeypatch):
    path = tmp_path / "locked.png"
    Image.fromarray(rgb_image).save(path)
    import builtins

    real_open = builtins.open

    def deny(file, *a, **kw):  # what the OS raises for a mode-000 file (root ignores chmod)
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *a, **kw)

    monkeypatch.setattr(builtins, "open", deny)
    e = _err(read_image, path)
    assert "locked.png" in str(e) and "permission denied" in e.reason


def test_error_mask_many_values(tmp_path):
    Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8)).save(tmp_path / "grey.png")
    e = _err(read_mask, tmp_path / "grey.png")
    assert "grey.png" in str(e) and "64 distinct values" in e.reason and "PNG" in e.reason


def test_error_mask_size_differs(tmp_path):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "small.png")
    e = _err(read_mask, tmp_path / "small.png", (10, 12), tmp_path / "leaf.jpg")
    assert "small.png" in str(e) and "leaf.jpg" in e.reason and "never resized" in e.reason


def test_odd_file_names(tmp_path, rgb_image):
    for name in ("with space.png", "fougère Ω.jpg", "ドクダミ.tif"):
        path = tmp_path / name
        if path.suffix == ".tif":
            tifffile.imwrite(path, rgb_image, photometric="rgb")
        else:
            Image.fromarray(rgb_image).save(path)
        assert read_image(path).shape == (40, 60, 3)
