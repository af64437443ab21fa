"""Reading an image only as large as it will be shown to a network.

A 9000 x 6000 JPEG letterboxed to 512 px needs 512 x 341 pixels of it. libjpeg can decode
at 1/2, 1/4 or 1/8 scale straight from the DCT coefficients (Pillow's ``Image.draft``),
about six times faster than a full decode and with a 64th of the memory. ``read_reduced``
asks for the smallest such scale that still covers ``OVERSAMPLE`` (2) times the size the
image will be resized to, so the antialiased resize still does the last factor of two or
more, as it does from a full decode: with the bare size instead, masks of the demo JPEGs at
64-192 px lost up to 2.3% Dice against a full decode, with 2x at most 0.4% (at 64 px; see
tests/core/inference/test_pipeline.py). A 54 MP sheet at 512 px is decoded at 1/8 either
way. Other formats (PNG, TIFF, ...) are decoded whole, exactly as ``read_image`` does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import ImageOps

from ..errors import ImageReadError, one_line
from .images import (
    DEFAULT_MAX_PIXELS,
    check_nonempty,
    is_tiff,
    pil_open,
    pil_to_array,
    read_image,
)

DRAFT_FORMATS = frozenset({"JPEG"})
OVERSAMPLE = 2  # decoded at least this many times the size it is resized to
ROTATED = (5, 6, 7, 8)  # EXIF orientations that swap width and height


@dataclass(frozen=True)
class Reduced:
    """Pixels decoded at 1/``factor`` of the image's size (in display orientation)."""

    pixels: np.ndarray   # as ``read_image`` gives them, at the reduced size
    height: int          # the image's full size, in display orientation
    width: int
    factor: int = 1      # 1: decoded whole


def fitted_size(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(h, w) of an image scaled so that its long side is ``long_side`` (as letterboxing
    does: ``masks.letterbox.Letterbox.fit``)."""
    scale = long_side / max(height, width)
    return (min(long_side, max(1, round(height * scale))),
            min(long_side, max(1, round(width * scale))))


def read_reduced(path: str | Path, long_side: int,
                 max_pixels: int | None = DEFAULT_MAX_PIXELS,
                 oversample: int = OVERSAMPLE) -> Reduced:
    """The image decoded at the smallest scale that still covers ``oversample`` times
    its size scaled to ``long_side`` on its long side; the full size comes from the header.

    Errors and pixel types are those of ``read_image``; only JPEGs are decoded reduced.
    """
    path = Path(path)
    check_nonempty(path)
    if not is_tiff(path):
        with pil_open(path, max_pixels) as im:
            if im.format in DRAFT_FORMATS:
                return _read_draft(path, im, long_side * oversample)
    arr = read_image(path, max_pixels)
    return Reduced(arr, arr.shape[0], arr.shape[1])


def _read_draft(path: Path, im, long_side: int) -> Reduced:
    try:
        orientation = im.getexif().get(0x0112, 1)
    except Exception:  # damaged metadata: decoded whole, read_image says what is wrong
        orientation = 1
    width, height = im.size  # as stored; the fitted size is the same either way round
    need_h, need_w = fitted_size(height, width, long_side)
    try:
        im.draft(None, (need_w, need_h))
        factor = max(1, round(width / im.size[0]))
        im.load()
        im = ImageOps.exif_transpose(im)
    except Exception as exc:  # Pillow's decoders raise many types for damaged data
        raise ImageReadError(path, f"image data is truncated or corrupt "
                                   f"({one_line(exc)})") from exc
    arr = _finish(path, pil_to_array(path, im))
    if orientation in ROTATED:
        height, width = width, height
    return Reduced(arr, height, width, factor)


def _finish(path: Path, arr: np.ndarray) -> np.ndarray:
    """What ``read_pixels`` and ``read_image`` do after decoding (JPEGs are 8-bit grey,
    RGB or CMYK, so only the grey shape needs it)."""
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.dtype != np.uint8 or arr.size == 0:
        raise ImageReadError(path, f"unsupported JPEG pixels ({arr.dtype}, {arr.shape})")
    return arr
