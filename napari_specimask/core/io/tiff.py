"""TIFF through tifffile (8/16 bit, grey/RGB/RGBA/palette/CMYK, planar), apart from Pillow's
formats because tifffile reads what Pillow cannot and reports the orientation tag itself.

Only the first page is read; ``tiff_pages`` counts the others (from the headers) so an
import can say they were left out.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..errors import ImageReadError, one_line

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
        reason = f"not a readable TIFF (corrupt or truncated: {one_line(exc)})"
        raise ImageReadError(path, reason) from exc


def tiff_pages(path: Path) -> int:
    """How many pages (images) the file holds, from the headers only; 1 if unreadable
    (reading the pixels then says what is wrong)."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tf:
            return max(1, len(tf.pages))
    except Exception:  # tifffile raises many types for bad files
        return 1


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
            elif page.samplesperpixel > 1 and arr.ndim == 3:
                if page.planarconfig == tifffile.PLANARCONFIG.SEPARATE:
                    arr = np.moveaxis(arr, 0, -1)
                arr = _colour(path, page, arr)
            orient = _tiff_orientation(page)
    except ImageReadError:
        raise
    except Exception as exc:  # tifffile raises many types for bad files
        raise ImageReadError(path, f"not a readable TIFF (corrupt or truncated: "
                                   f"{one_line(exc)})") from exc
    if arr.ndim not in (2, 3):
        raise ImageReadError(path, f"unsupported TIFF layout with shape {arr.shape}")
    return np.ascontiguousarray(apply_orientation(arr, orient))


def _colour(path: Path, page, arr: np.ndarray) -> np.ndarray:
    """(H, W, samples) as grey + alpha, RGB or RGBA: CMYK becomes RGB, alpha is kept only
    where the file marks it, extra samples after RGB(A) are dropped, and 4+ channels that
    are not colour (microscopy stacks) are refused rather than guessed at."""
    import tifffile

    n, photometric = arr.shape[2], page.photometric
    alpha = bool(page.extrasamples) and page.extrasamples[0] in (1, 2)  # (un)associated
    if n == 2:
        return arr  # grey + alpha (see images.read_pixels)
    if photometric == tifffile.PHOTOMETRIC.SEPARATED and n >= 4:  # CMYK ink
        top = float(np.iinfo(arr.dtype).max) if arr.dtype.kind == "u" else 1.0
        ink = 1.0 - arr[..., :4].astype(np.float32) / top
        return (ink[..., :3] * ink[..., 3:] * top + 0.5).astype(arr.dtype)
    if n == 3 or photometric in (tifffile.PHOTOMETRIC.RGB, tifffile.PHOTOMETRIC.YCBCR):
        return arr[..., : 4 if alpha and n >= 4 else 3]  # 3 grey channels: shown as RGB
    name = getattr(photometric, "name", str(photometric)).lower()
    raise ImageReadError(path, f"{n} channels stored as {name}, not as colour; specimask "
                         "reads grey, grey + alpha, RGB, RGBA and CMYK: save it as RGB")


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
