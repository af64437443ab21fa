"""``check_image``: what a full ``read_image`` decode says (the shape in display orientation,
or the error), without decoding at full size: damaged files are refused just the same."""

from __future__ import annotations

import io
import struct
import tempfile
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from napari_specimask.core.errors import ImageReadError, SpecimaskError
from napari_specimask.core.io import validate
from napari_specimask.core.io.images import read_image
from napari_specimask.core.io.validate import check_image


def _encode(arr: np.ndarray, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt, **kw)
    return buf.getvalue()


def _noise(h: int, w: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (h, w, channels), np.uint8).squeeze()


def _outcome(fn, path):
    """('ok', shape) or ('error', message), with decoders' warnings silenced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = fn(path)
        except SpecimaskError as exc:
            return "error", str(exc)
    return "ok", tuple(result.shape[:2]) if hasattr(result, "shape") else tuple(result)


def _agree(path: Path) -> tuple:
    """check_image and read_image reach the same verdict (and shape) on ``path``."""
    full, checked = _outcome(read_image, path), _outcome(check_image, path)
    assert full[0] == checked[0], (full, checked)
    if full[0] == "ok":
        assert checked == full
    return checked


@pytest.fixture
def no_full_decode(monkeypatch):
    """Fail if check_image falls back to a whole decode (the fast paths must not)."""
    def refuse(*_a, **_kw):
        raise AssertionError("decoded whole")

    monkeypatch.setattr(validate, "read_reduced", refuse)


# -- JPEG ------------------------------------------------------------------------------


@pytest.mark.parametrize("progressive", [False, True])
def test_truncated_jpeg_refused_like_a_full_decode(tmp_path, progressive):
    data = _encode(_noise(240, 320), "JPEG", quality=90, progressive=progressive)
    path = tmp_path / "sheet.jpg"
    for cut in (len(data) // 3, len(data) // 2, len(data) - 100, len(data) - 2):
        path.write_bytes(data[:cut])
        with pytest.raises(ImageReadError) as info:
            check_image(path)
        assert str(info.value).startswith(f"{path}: image data is truncated or corrupt")
        assert _agree(path) == ("error", str(info.value))


def test_corrupt_jpeg_refused_like_a_full_decode(tmp_path):
    data = bytearray(_encode(_noise(240, 320), "JPEG", quality=90))
    dht = data.index(b"\xff\xc4")
    data[dht + 5 : dht + 21] = b"\xff" * 16  # Huffman code counts summing past 256
    path = tmp_path / "broken.jpg"
    path.write_bytes(bytes(data))
    with pytest.raises(ImageReadError, match="broken.jpg: image data is truncated or corrupt"):
        check_image(path)
    assert _agree(path)[0] == "error"


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_exif_rotated_jpeg_gets_its_display_shape(tmp_path, orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = tmp_path / "turned.jpg"
    path.write_bytes(_encode(_noise(120, 200), "JPEG", exif=exif))
    rotated = orientation in (6, 8)
    assert check_image(path) == ((200, 120) if rotated else (120, 200))
    _agree(path)


def test_large_jpeg_is_checked_at_an_eighth(tmp_path, monkeypatch):
    from napari_specimask.core.io import reduced

    seen = []
    real = reduced._read_draft
    monkeypatch.setattr(reduced, "_read_draft",
                        lambda *a: seen.append(real(*a)) or seen[-1])
    path = tmp_path / "big.jpg"
    path.write_bytes(_encode(_noise(800, 640), "JPEG"))
    assert check_image(path) == (800, 640)
    assert seen[0].factor == 8 and seen[0].pixels.shape[:2] == (100, 80)


# -- PNG -------------------------------------------------------------------------------


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png(rows: list[bytes], width: int, colour: int = 0, interlace: int = 0,
         after: bytes = b"") -> bytes:
    """A hand-made 8-bit PNG from raw rows (each starting with its filter byte)."""
    ihdr = struct.pack(">IIBBBBB", width, len(rows), 8, colour, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
            + _chunk(b"IDAT", zlib.compress(b"".join(rows))) + after + _chunk(b"IEND", b""))


def test_truncated_png_refused(tmp_path, no_full_decode):
    data = _encode(_noise(300, 400), "PNG")  # several IDAT chunks
    path = tmp_path / "scan.png"
    for cut in (len(data) // 3, len(data) // 2, len(data) - 40):
        path.write_bytes(data[:cut])
        with pytest.raises(ImageReadError, match="scan.png: image data is truncated"):
            check_image(path)


def test_truncated_png_agrees_with_a_full_decode(tmp_path):
    data = _encode(_noise(300, 400), "PNG")
    path = tmp_path / "scan.png"
    for cut in [*range(40, len(data), 2503), *range(len(data) - 20, len(data))]:
        path.write_bytes(data[:cut])
        _agree(path)


def test_whole_png_checked_without_a_full_decode(tmp_path, no_full_decode):
    for mode_arr in (_noise(30, 50, 1), _noise(30, 50, 3), _noise(30, 50, 4),
                     (_noise(30, 50, 1).astype(np.uint16) * 257)):
        path = tmp_path / "ok.png"
        path.write_bytes(_encode(mode_arr, "PNG"))
        assert check_image(path) == (30, 50)


def test_png_row_with_an_unknown_filter_refused(tmp_path):
    rows = [b"\x00" + bytes(range(16))] * 5
    rows[3] = b"\x07" + rows[3][1:]
    path = tmp_path / "filter.png"
    path.write_bytes(_png(rows, 16))
    with pytest.raises(ImageReadError, match="unknown filter type 7 in row 3"):
        check_image(path)
    assert _agree(path)[0] == "error"


def test_png_short_of_rows_refused(tmp_path):
    """A complete zlib stream with too few rows: Pillow fills the missing rows with black
    when they end at a row boundary (and refuses otherwise); the check refuses both."""
    ihdr = struct.pack(">IIBBBBB", 16, 6, 8, 0, 0, 0, 0)  # says 6 rows
    for name, raw in (("mid_row.png", bytes(5 * 17 + 8)), ("whole_rows.png", bytes(5 * 17))):
        path = tmp_path / name
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
                         + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))
        with pytest.raises(ImageReadError, match=f"{name}: image data is truncated"):
            check_image(path)
    assert _outcome(read_image, tmp_path / "mid_row.png")[0] == "error"
    assert _outcome(read_image, tmp_path / "whole_rows.png") == ("ok", (6, 16))


def test_png_special_cases_are_decoded_whole(tmp_path, monkeypatch):
    """Interlaced, metadata after the image data, a rotating EXIF orientation: the full
    decode says what they are."""
    calls = []
    real = validate.read_reduced
    monkeypatch.setattr(validate, "read_reduced", lambda *a, **k: calls.append(1) or real(*a, **k))
    exif = Image.Exif()
    exif[0x0112] = 6
    rows = [b"\x00" + bytes(16)] * 4
    cases = {"late_text.png": _png(rows, 16, after=_chunk(b"tEXt", b"k\x00v")),
             "turned.png": _encode(_noise(20, 30), "PNG", exif=exif)}
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        _agree(path)
    assert len(calls) == 2
    assert check_image(tmp_path / "turned.png") == (30, 20)


# -- the same verdict as a full decode, whatever the damage ----------------------------


def _originals() -> list[bytes]:
    rgb = _noise(37, 53)
    smooth = np.tile(np.arange(53, dtype=np.uint8), (300, 1))  # PNG rows in long runs
    return [_encode(rgb, "JPEG", quality=85), _encode(rgb, "JPEG", progressive=True),
            _encode(smooth, "JPEG"), _encode(rgb, "PNG"), _encode(rgb[..., 0], "PNG"),
            _encode(smooth, "PNG", compress_level=0),
            _encode(np.dstack([rgb, rgb[..., :1]]), "PNG"),
            _encode(rgb[..., 0].astype(np.uint16) * 257, "PNG"),
            _encode(np.asarray(Image.fromarray(rgb).convert("P")), "PNG")]


ORIGINALS = _originals()


@pytest.fixture(scope="module")
def workdir():
    with tempfile.TemporaryDirectory() as d:
        yield Path(d)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(which=st.integers(0, len(ORIGINALS) - 1), cut=st.floats(0.0, 1.0),
       flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=3))
def test_damaged_files_get_the_full_decodes_verdict(workdir, which, cut, flips):
    data = bytearray(ORIGINALS[which])
    for where, value in flips:
        data[min(len(data) - 1, 8 + int(where * (len(data) - 8)))] = value
    data = data[: max(1, round(cut * len(data)))] if cut < 0.9 else data
    path = workdir / ("x.jpg" if which < 3 else "x.png")
    path.write_bytes(bytes(data))
    _agree(path)


# -- real images -----------------------------------------------------------------------


def test_demo_images_get_the_full_decodes_shape(tmp_path):
    from napari_specimask.core.demo.samples import demo_samples

    for s in demo_samples(n_herbarium=3, n_plankton=3, seed=5):
        for suffix in (".png", ".jpg"):
            path = tmp_path / f"{s.name}{suffix}"
            Image.fromarray(s.image).save(path)
            assert _agree(path)[0] == "ok"


def test_real_sheets_get_the_full_decodes_shape(real_sheets):
    for path in sorted(real_sheets.glob("*.jpg"))[::60]:
        assert _agree(path)[0] == "ok"
