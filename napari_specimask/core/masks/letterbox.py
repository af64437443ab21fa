"""Pad-to-square-then-resize ("letterbox") and its exact inverse.

Specimens reach the image borders (a fern's tip, a copepod's antenna), so we never
centre-crop: the image is scaled to fit ``size`` on its long side, centred, and padded.
The inverse maps a model-size prediction back to the original pixels using the same
geometry, so a mask lands exactly where the specimen is.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Letterbox:
    """Geometry of one image inside a ``size`` x ``size`` model input."""

    height: int
    width: int
    size: int
    new_h: int
    new_w: int
    top: int
    left: int

    @classmethod
    def fit(cls, height: int, width: int, size: int) -> Letterbox:
        if height < 1 or width < 1 or size < 1:
            raise ValueError(f"sizes must be positive, got {height} x {width} -> {size}")
        scale = size / max(height, width)
        new_h = min(size, max(1, round(height * scale)))
        new_w = min(size, max(1, round(width * scale)))
        return cls(height, width, size, new_h, new_w, (size - new_h) // 2, (size - new_w) // 2)

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of the image inside the model input."""
        return (self.left, self.top, self.left + self.new_w, self.top + self.new_h)

    def valid(self) -> np.ndarray:
        """Bool (size, size): True on real image pixels, False on padding."""
        out = np.zeros((self.size, self.size), dtype=bool)
        out[self.top : self.top + self.new_h, self.left : self.left + self.new_w] = True
        return out

    def apply(self, img: np.ndarray, fill: float = 0) -> np.ndarray:
        """Scale (antialiased) and pad ``img`` (H, W[, C]) to (size, size[, C]), same dtype."""
        if img.shape[:2] != (self.height, self.width):
            raise ValueError(f"image is {img.shape[:2]}, letterbox was fitted to "
                             f"{(self.height, self.width)}")
        return self.apply_scaled(img, fill)

    def apply_scaled(self, img: np.ndarray, fill: float = 0) -> np.ndarray:
        """``apply`` to the image decoded at another scale (``io.reduced``): resized from
        whatever size it has to the letterbox's, so a reduced decode gives the same
        geometry (and, decoded whole, the same pixels) as the full image."""
        scaled = _resize(img, self.new_w, self.new_h, Image.Resampling.BILINEAR)
        out = np.full((self.size, self.size, *img.shape[2:]), fill, dtype=img.dtype)
        out[self.top : self.top + self.new_h, self.left : self.left + self.new_w] = scaled
        return out

    def apply_mask(self, mask: np.ndarray) -> np.ndarray:
        """Letterbox a bool mask: area-weighted resize, then the 0.5 coverage rule."""
        soft = self.apply(mask.astype(np.float32))
        return soft >= 0.5

    def invert(self, pred: np.ndarray) -> np.ndarray:
        """Map a (size, size) map back to (height, width) float32 (bilinear).

        Crops the image's box at model size first (so padding never bleeds into edge
        pixels), then writes one original-size float32 array: a 9000 x 6000 scan costs one
        full-size copy, not several.
        """
        if pred.shape[:2] != (self.size, self.size):
            raise ValueError(f"prediction is {pred.shape[:2]}, expected {(self.size, self.size)}")
        crop = pred[self.top : self.top + self.new_h, self.left : self.left + self.new_w]
        return _resize(crop.astype(np.float32), self.width, self.height,
                       Image.Resampling.BILINEAR)

    def invert_mask(self, prob: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        return self.invert(prob) >= threshold


def _resize(arr: np.ndarray, w: int, h: int, resample) -> np.ndarray:
    """Pillow resize of a 2-D or channel-last array; Pillow antialiases when shrinking."""
    if arr.ndim == 3 and not (arr.dtype == np.uint8 and arr.shape[2] in (3, 4)):
        return np.stack([_resize(arr[..., c], w, h, resample) for c in range(arr.shape[2])],
                        axis=-1)
    if arr.dtype == bool:
        arr = arr.astype(np.float32)
    if arr.dtype not in (np.uint8, np.float32):
        src = arr.astype(np.float32)
        return _resize(src, w, h, resample).round().astype(arr.dtype)
    out = Image.fromarray(np.ascontiguousarray(arr)).resize((w, h), resample)
    return np.asarray(out)
