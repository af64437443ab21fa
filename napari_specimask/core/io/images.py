"""Reading specimen images and masks, with errors that name the file and what is wrong.

JPEG/PNG/BMP go through Pillow (EXIF orientation applied), TIFF through tifffile (see
``tiff``). Sizes are checked from the header before any pixel is decoded, so a
decompression bomb is refused without allocating it.
"""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageReadError, one_line
from .atomic import atomic_path
from .tiff import TIFF_SIGNATURES, TIFF_SUFFIXES, read_tiff, tiff_header, write_tiff

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp"})
DEFAULT_MAX_PIXELS = 250_000_000  # a 9000 x 6000 herbarium scan is 54 MP
_PIL_LIMIT_LOCK = threading.Lock()


def is_image_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def read_image(path: str | Path, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Return (H, W), (H, W, 3) or (H, W, 4) uint8/uint16 pixels in display orientation.

    Grey + alpha (2 channels) comes back as RGBA; a TIFF's first page only.
    """
    arr = read_pixels(path, max_pixels)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    if arr.dtype not in (np.uint8, np.uint16):
        raise ImageReadError(
            path, f"unsupported pixel type {arr.dtype}; save it as 8- or 16-bit integer"
        )
    return arr


def image_shape(path: str | Path) -> tuple[int, int]:
    """(height, width) in display orientation, read from the header only."""
    path = Path(path)
    check_nonempty(path)
    if is_tiff(path):
        h, w, orient = tiff_header(path)
    else:
        with pil_open(path, None) as im:
            w, h = im.size
            try:
                orient = im.getexif().get(0x0112, 1)
            except Exception as exc:  # Pillow raises many types for damaged metadata
                raise ImageReadError(path, f"cannot read the image header "
                                           f"({one_line(exc)})") from None
    return (w, h) if orient in (5, 6, 7, 8) else (h, w)


def to_rgb8(img: np.ndarray) -> np.ndarray:
    """Any image from ``read_image`` as (H, W, 3) uint8, the one form models and methods see.

    16-bit data is stretched from its own min to max, since scientific cameras rarely fill
    the 16-bit range and a fixed >> 8 would leave them near black. Alpha is dropped (not
    composited): the pixels under it are what a camera or scanner recorded.
    """
    if img.ndim == 3:  # grey (+ alpha) keeps its first channel, RGB(A) its first three
        img = img[..., :1] if img.shape[2] < 3 else img[..., :3]
    if img.dtype != np.uint8:  # stretched after alpha is gone, so alpha cannot set the range
        lo, hi = (float(img.min()), float(img.max())) if img.size else (0.0, 0.0)
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        img = ((img.astype(np.float32) - lo) * scale + 0.5).astype(np.uint8)
    if img.ndim == 2:
        img = img[..., None]
    return np.ascontiguousarray(np.broadcast_to(img, (*img.shape[:2], 3)))


def read_mask(
    path: str | Path,
    shape: tuple[int, int] | None = None,
    image_path: str | Path | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> np.ndarray:
    """Read a binary mask as bool (H, W): 0/255, 0/1, bool or any two-valued image.

    With two values the larger one is foreground; a one-valued image is all foreground if
    that value is non-zero. ``shape`` (of the image it belongs to) is checked, never resized.
    """
    arr = read_pixels(path, max_pixels)
    if arr.ndim == 3:
        arr = _collapse_channels(arr)
    if arr.ndim != 2:
        raise ImageReadError(path, f"a mask must be a single 2-D image, got shape {arr.shape}")
    values = np.unique(arr)
    if len(values) > 2:
        shown = ", ".join(str(v) for v in values[:5]) + (", ..." if len(values) > 5 else "")
        raise ImageReadError(
            path,
            f"mask has {len(values)} distinct values ({shown}); a mask must have two "
            "(0/255, 0/1 or true/false). JPEG compression adds values: save masks as PNG",
        )
    mask = arr == values[-1] if len(values) == 2 else np.full(arr.shape, bool(values[0]))
    if shape is not None and mask.shape != tuple(shape):
        other = f" of image {image_path}" if image_path else ""
        raise ImageReadError(
            path,
            f"mask is {mask.shape[1]} x {mask.shape[0]} px but the size{other} is "
            f"{shape[1]} x {shape[0]} px; masks are never resized silently",
        )
    return mask


def save_mask_png(path: str | Path, mask: np.ndarray) -> None:
    """Encode a bool mask as an 8-bit PNG of 0/255 (not atomic: see ``write_mask_png``)."""
    data = np.where(np.asarray(mask, dtype=bool), 255, 0).astype(np.uint8)
    Image.fromarray(data).save(path, format="PNG")


def write_mask_png(path: str | Path, mask: np.ndarray) -> None:
    """Write a bool mask as PNG 0/255 atomically (temp file + rename)."""
    with atomic_path(path) as tmp:
        save_mask_png(tmp, mask)


def write_image(path: str | Path, img: np.ndarray) -> None:
    """Write an image atomically; the format follows the suffix (PNG, JPEG, TIFF)."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if path.suffix.lower() in TIFF_SUFFIXES:
            write_tiff(tmp, img)
        else:
            fmt = Image.registered_extensions().get(path.suffix.lower(), "PNG")
            Image.fromarray(img).save(tmp, format=fmt)


# -- internals -------------------------------------------------------------------------


def _open_checked(path: str | Path):
    try:
        return open(path, "rb")
    except OSError as exc:
        raise read_error(path, exc) from None


def read_error(path: str | Path, exc: OSError) -> ImageReadError:
    """An OSError met while reading ``path``, said with the fix."""
    path = Path(path)
    if isinstance(exc, FileNotFoundError):
        return ImageReadError(path, "file not found")
    if isinstance(exc, IsADirectoryError):
        return ImageReadError(path, "is a folder, not an image file")
    if isinstance(exc, PermissionError):
        return ImageReadError(
            path, "permission denied; make it readable (e.g. chmod a+r) or run as its owner")
    return ImageReadError(path, exc.strerror or str(exc))


def check_nonempty(path: Path) -> None:
    with _open_checked(path) as fh:
        if not fh.read(1):
            raise ImageReadError(path, "file is empty (0 bytes)")


def is_tiff(path: Path) -> bool:
    if path.suffix.lower() in TIFF_SUFFIXES:
        return True
    with _open_checked(path) as fh:
        return fh.read(4) in TIFF_SIGNATURES


def _check_pixels(path: Path, h: int, w: int, max_pixels: int | None) -> None:
    if max_pixels is not None and h * w > max_pixels:
        raise ImageReadError(
            path,
            f"image is {w} x {h} = {h * w:,} pixels, over the limit of {max_pixels:,} "
            "(a guard against decompression bombs); raise it with --max-pixels or "
            "[images] max_pixels in specimask.toml if the image is genuine",
        )


def pil_open(path: Path, max_pixels: int | None) -> Image.Image:
    # Pillow has its own global bomb limit; ours replaces it (checked on the header) so a
    # genuine 300 MP scan can be allowed by a setting without touching Pillow globally.
    fh = _open_checked(path)
    try:
        with _PIL_LIMIT_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
            try:
                im = Image.open(fh)
            finally:
                Image.MAX_IMAGE_PIXELS = saved
    except UnidentifiedImageError:
        fh.close()
        raise ImageReadError(path, "not an image (format not recognised)") from None
    except Exception as exc:
        fh.close()
        raise ImageReadError(path, f"cannot read the image header ({one_line(exc)})") from exc
    w, h = im.size
    try:
        _check_pixels(path, h, w, max_pixels)
    except ImageReadError:
        im.close()
        raise
    return im


def read_pixels(path: str | Path, max_pixels: int | None) -> np.ndarray:
    """Pixels as decoded, in display orientation, before any type or mask checks: grey,
    RGB or RGBA (grey + alpha is made RGBA, as Pillow does for 'LA')."""
    path = Path(path)
    check_nonempty(path)
    if is_tiff(path):
        arr = read_tiff(path, lambda h, w: _check_pixels(path, h, w, max_pixels))
    else:
        with pil_open(path, max_pixels) as im:
            try:
                im.load()
                im = ImageOps.exif_transpose(im)
            except Exception as exc:  # Pillow's decoders raise many types for damaged data
                raise ImageReadError(path, f"image data is truncated or corrupt "
                                           f"({one_line(exc)})") from exc
            arr = pil_to_array(path, im)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    elif arr.ndim == 3 and arr.shape[2] == 2:  # grey + alpha
        arr = np.concatenate([np.repeat(arr[..., :1], 3, axis=2), arr[..., 1:]], axis=2)
    elif arr.ndim == 3 and arr.shape[2] > 4:
        raise ImageReadError(path, f"{arr.shape[2]} channels; specimask reads grey, grey + "
                             "alpha, RGB and RGBA: save it as RGB")
    if arr.size == 0:
        raise ImageReadError(path, f"image has no pixels (shape {arr.shape})")
    return arr


def pil_to_array(path: Path, im: Image.Image) -> np.ndarray:
    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA" or mode == "LA":
        im = im.convert("RGBA")
    elif mode == "1":
        im = im.convert("L")
    elif mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        im = im.convert("RGB")
    elif mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16)
    elif mode == "I":
        arr = np.asarray(im)
        if arr.min() < 0 or arr.max() > 65535:
            raise ImageReadError(path, "32-bit integer pixels out of 16-bit range; save as 16 bit")
        return arr.astype(np.uint16)
    elif mode == "F":
        return np.asarray(im)
    return np.asarray(im)


def _collapse_channels(arr: np.ndarray) -> np.ndarray:
    """Reduce a colour mask to one channel, keeping it two-valued if it was."""
    if arr.shape[2] == 4:
        rgb, alpha = arr[..., :3], arr[..., 3]
        if (rgb == rgb[..., :1]).all() and rgb.min() == rgb.max() and alpha.min() != alpha.max():
            return alpha  # shape carried only by transparency
        arr = rgb
    if (arr == arr[..., :1]).all():
        return arr[..., 0]
    # Distinct colours: rank them by brightness so "two colours" stays two values.
    flat = arr.reshape(-1, arr.shape[2]).astype(np.int64)
    key = flat.sum(axis=1) * 1_000_003 + flat[:, 0] * 1009 + flat[:, 1]
    return key.reshape(arr.shape[:2])
