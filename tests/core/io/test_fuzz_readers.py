"""Fuzzing the image and mask readers: whatever the bytes, only a SpecimaskError (one line,
naming the file) comes out, and what is read is a form the rest of specimask takes."""

from __future__ import annotations

import io
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.io.images import image_shape, read_image, read_mask, to_rgb8

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp")
MAGIC = (b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"II*\x00", b"MM\x00*", b"II+\x00",
         b"BM", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"GIF89a")


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


def _valid_files() -> list[bytes]:
    """Small real images to damage: the decoders' deeper paths are reached from these."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (9, 11, 3), np.uint8)
    out = []
    for fmt in ("PNG", "JPEG", "BMP", "WEBP", "TIFF"):
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format=fmt)
        out.append(buf.getvalue())
    for data, kw in ((rgb, {"photometric": "rgb", "compression": "zlib"}),
                     (rgb[..., 0], {"tile": (16, 16)}),
                     (rgb.astype(np.uint16) * 257, {"photometric": "rgb",
                                                    "planarconfig": "separate"})):
        buf = io.BytesIO()
        tifffile.imwrite(buf, data, **kw)
        out.append(buf.getvalue())
    return out


VALID = _valid_files()


def _check_read(path: Path) -> None:
    """Each reader either gives its documented form or raises a SpecimaskError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # decoders warn about the damage they read past
        try:
            img = read_image(path)
        except SpecimaskError as exc:
            assert str(path) in str(exc) and "\n" not in str(exc)
        else:
            assert img.dtype in (np.uint8, np.uint16) and img.size
            assert img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (3, 4))
            rgb = to_rgb8(img)
            assert rgb.shape == (*img.shape[:2], 3) and rgb.dtype == np.uint8
        for reader in (read_mask, image_shape):
            try:
                reader(path)
            except SpecimaskError as exc:
                assert "\n" not in str(exc)


@FUZZ
@given(st.sampled_from(SUFFIXES), st.sampled_from(MAGIC), st.binary(max_size=600))
def test_arbitrary_bytes(workdir, suffix, magic, data):
    path = workdir / f"any{suffix}"
    path.write_bytes(magic + data)
    _check_read(path)


@FUZZ
@given(st.sampled_from(range(len(VALID))), st.sampled_from(SUFFIXES), st.data())
def test_damaged_real_images(workdir, which, suffix, data):
    raw = bytearray(VALID[which])
    for _ in range(data.draw(st.integers(1, 8), label="flips")):
        pos = data.draw(st.integers(0, len(raw) - 1), label="pos")
        raw[pos] = data.draw(st.integers(0, 255), label="byte")
    cut = data.draw(st.integers(1, len(raw)), label="cut")
    path = workdir / f"damaged{suffix}"
    path.write_bytes(bytes(raw[:cut]))
    _check_read(path)


TIFF_DTYPES = (np.uint8, np.uint16, np.int8, np.int16, np.uint32, np.int32, np.float16,
               np.float32, np.float64, np.bool_)


@FUZZ
@given(st.sampled_from(TIFF_DTYPES), st.sampled_from([None, 1, 2, 3, 4, 5, 6]),
       st.integers(1, 12), st.integers(1, 12),
       st.sampled_from([None, "minisblack", "rgb", "separated", "miniswhite"]),
       st.sampled_from(["contig", "separate"]), st.booleans(), st.integers(1, 3))
def test_valid_tiffs_of_any_type(workdir, dtype, channels, h, w, photometric, planar, alpha,
                                 pages):
    shape = (h, w) if channels is None else (h, w, channels)
    if planar == "separate" and channels:
        shape = (channels, h, w)
    data = (np.random.default_rng(h * w).random((pages, *shape)) * 300).astype(dtype)
    kw = dict(photometric=photometric, planarconfig=planar if channels else None)
    if alpha and channels and channels > 1:
        kw["extrasamples"] = ["unassalpha"] + ["unspecified"] * (channels - 2)
    path = workdir / "valid.tif"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tifffile.imwrite(path, data if pages > 1 else data[0], **kw)
    except Exception:  # a combination tifffile itself will not write
        return
    _check_read(path)


PIL_MODES = ("1", "L", "LA", "La", "P", "PA", "RGB", "RGBA", "RGBa", "RGBX", "CMYK", "YCbCr",
             "I", "I;16", "F", "HSV", "LAB")
PIL_FORMATS = {"PNG": ".png", "TIFF": ".tif", "JPEG": ".jpg", "BMP": ".bmp", "WEBP": ".webp"}


@FUZZ
@given(st.sampled_from(PIL_MODES), st.sampled_from(sorted(PIL_FORMATS)), st.integers(1, 12),
       st.integers(1, 12), st.integers(0, 8))
def test_valid_pillow_images_of_any_mode(workdir, mode, fmt, h, w, orientation):
    im = Image.fromarray(np.random.default_rng(h + w).integers(0, 255, (h, w, 3), np.uint8))
    try:
        im = im.convert(mode)
        kw = {}
        if orientation:
            exif = im.getexif()
            exif[0x0112] = orientation
            kw["exif"] = exif.tobytes()
        path = workdir / f"pil{PIL_FORMATS[fmt]}"
        im.save(path, format=fmt, **kw)
    except Exception:  # a mode this format cannot hold
        return
    _check_read(path)
