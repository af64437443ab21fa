"""PNG encoding of masks (1 bit per pixel) and 8-bit maps, several times faster than
Pillow's for full-size sheets.

Pillow spends 0.19 s on a 9000 x 6000 1-bit mask and 0.41 s (zlib level 1) on an 8-bit map,
most of it choosing a filter per row; here a mask is packed by numpy and deflated as is
(0.03 s, smaller than Pillow's file), and a map gets the PNG "Up" filter for every row
(its rows are bilinear upsamples, so most of the differences are 0) and zlib's run-length
strategy (0.24 s, 20% smaller than Pillow's level 1). The files are ordinary greyscale PNGs:
Pillow, napari and ``read_mask`` read them as they read any other.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
GREY = 0  # PNG colour type
NONE, UP = 0, 2  # PNG filter types


def encode_png(image: np.ndarray) -> bytes:
    """A bool (H, W) mask as a 1-bit PNG (foreground white) or a uint8 (H, W) map as an
    8-bit greyscale PNG."""
    if image.ndim != 2 or image.dtype not in (np.bool_, np.uint8):
        raise ValueError(f"encode_png takes a 2-D bool or uint8 array, not {image.dtype} "
                         f"{image.shape}")
    h, w = image.shape
    if image.dtype == np.bool_:
        rows, depth = _filtered(np.packbits(image, axis=1), NONE), 1
        deflate = zlib.compressobj(6, zlib.DEFLATED, 15, 9)
    else:
        rows, depth = _filtered(image, UP), 8
        deflate = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    data = deflate.compress(rows.data) + deflate.flush()
    header = struct.pack(">IIBBBBB", w, h, depth, GREY, 0, 0, 0)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def _filtered(rows: np.ndarray, kind: int) -> np.ndarray:
    """Scanlines, each led by its filter type byte; "Up" stores each row minus the one
    above (mod 256), the first row as is (filter None)."""
    out = np.empty((rows.shape[0], rows.shape[1] + 1), np.uint8)
    out[:, 0] = kind
    if kind == UP and rows.shape[0] > 1:
        out[0, 0] = NONE
        out[0, 1:] = rows[0]
        np.subtract(rows[1:], rows[:-1], out=out[1:, 1:])
    else:
        out[:, 1:] = rows
    return out


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + kind + data
            + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)) & 0xFFFFFFFF))
