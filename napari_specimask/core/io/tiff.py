"""TIFF through tifffile (8/16 bit, grey/RGB/RGBA/palette, planar), apart from Pillow's
formats because tifffile reads what Pillow cannot and reports the orientation tag itself.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import ImageReadError

TIFF_SUFFIXES = frozenset({".tif", ".tiff"})
TIFF_SIGNATURES = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic and BigTIFF


def tiff_header(path: Path) -> tuple[int, int, int]:
    """(height, width, orientation) of the first page, as stored (not yet oriented)."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tf:
            page = tf.pages[0]
            return page.imagelength, page.imagewidth, _tiff_orientation(page)
    except Exception as exc:  # tifffile raises many types for bad files
        reason = f"not a readable TIFF (corrupt or truncated: {exc})"
        raise ImageReadError(path, reason) from exc


def read_tiff(path: Path, check_size: Callable[[int, int], None]) -> np.ndarray:
    """Pixels of the first page in display orientation; ``check_size(h, w)`` runs first,
    on the header, so that an oversized image is refused before it is decoded."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tf:
            page = tf.pages[0]
            check_size(page.imagelength, page.imagewidth)
            arr = page.asarray()
            if page.photometric == tifffile.PHOTOMETRIC.PALETTE and page.colormap is not None:
                cmap = page.colormap  # (3, N) uint16
                arr = (np.moveaxis(cmap[:, arr], 0, -1) >> 8).astype(np.uint8)
            orient = _tiff_orientation(page)
    except ImageReadError:
        raise
    except Exception as exc:  # tifffile raises many types for bad files
        raise ImageReadError(path, f"not a readable TIFF (corrupt or truncated: {exc})") from exc
    if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[2] not in (3, 4):
        arr = np.moveaxis(arr, 0, -1)  # planar (separate) samples
    if arr.ndim not in (2, 3):
        raise ImageReadError(path, f"unsupported TIFF layout with shape {arr.shape}")
    return np.ascontiguousarray(apply_orientation(arr, orient))


def write_tiff(path: str | Path, img: np.ndarray) -> None:
    import tifffile

    tifffile.imwrite(path, img)


def apply_orientation(arr: np.ndarray, orient: int) -> np.ndarray:
    """EXIF/TIFF orientation 1-8 to display orientation (as Pillow's exif_transpose)."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
        7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
        8: lambda a: np.swapaxes(a, 0, 1)[::-1],
    }
    return ops[orient](arr) if orient in ops else arr


def _tiff_orientation(page) -> int:
    tag = page.tags.get(274)  # Orientation
    return int(tag.value) if tag is not None else 1
