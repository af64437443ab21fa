"""Pad-to-square-then-resize ("letterbox") and its exact inverse.

Specimens reach the image borders (a fern's tip, a copepod's antenna), so we never
centre-crop: the image is scaled to fit ``size`` on its long side, centred, and padded.
The inverse maps a model-size prediction back to the original pixels using the same
geometry, so a mask lands exactly where the specimen is.

``Letterbox.invert`` upsamples a model-size map to the image's size with Pillow's
bilinear filter in float32 (about 1 s for a 9000 x 6000 sheet). A mask or an 8-bit map
(``invert_mask``, ``invert_bytes``) comes out the same, exactly, several times faster and
without that full-size float map: Pillow's horizontal pass runs as is (it touches only
model-size rows), and the vertical pass, each output pixel a weighted mean of two rows
of that, is evaluated only where those two rows quantize differently. Elsewhere every
mean of them quantizes to the same value, since the quantizers (a threshold,
``to_byte``) are monotone and a mean of two float32 values rounds to a float32 between
them. The coefficients are Pillow's own (``precompute_coeffs`` in Resample.c);
tests/core/inference/test_pipeline.py checks the result against ``invert`` bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable
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
        return _resize(self._crop(pred), self.width, self.height, Image.Resampling.BILINEAR)

    def invert_mask(self, prob: np.ndarray, threshold: float = 0.5) -> np.ndarray:
        """``invert(prob) >= threshold``, bit for bit: the mask a model proposes."""
        return invert_quantized(self, prob, threshold_at(threshold))

    def invert_bytes(self, pred: np.ndarray) -> np.ndarray:
        """``to_byte(invert(pred))``, bit for bit: an 8-bit map at the image's size."""
        return invert_quantized(self, pred, to_byte)

    def invert_reduced(self, pred: np.ndarray, long_side: int) -> np.ndarray:
        """A map as uint8 at ``long_side`` px on the image's long side (never larger than
        the image), from the image's part of the model-size map (bilinear)."""
        scale = min(1.0, long_side / max(self.height, self.width))
        h = max(1, round(self.height * scale))
        w = max(1, round(self.width * scale))
        return to_byte(_resize(self._crop(pred), w, h, Image.Resampling.BILINEAR))

    def _crop(self, pred: np.ndarray) -> np.ndarray:
        """The image's part of a model-size map, as contiguous float32."""
        if pred.shape[:2] != (self.size, self.size):
            raise ValueError(f"prediction is {pred.shape[:2]}, expected {(self.size, self.size)}")
        return np.ascontiguousarray(
            pred[self.top : self.top + self.new_h, self.left : self.left + self.new_w],
            dtype=np.float32)


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


Quantizer = Callable[[np.ndarray], np.ndarray]


def to_byte(unit: np.ndarray) -> np.ndarray:
    """A [0, 1] map as uint8 0..255 (rounded)."""
    return np.clip(unit * 255.0 + 0.5, 0, 255).astype(np.uint8)


def threshold_at(threshold: float) -> Quantizer:
    return lambda v: v >= threshold


def invert_quantized(lb: Letterbox, pred: np.ndarray, quantize: Quantizer) -> np.ndarray:
    """``quantize(lb.invert(pred))``, bit for bit, at a fraction of its time and memory."""
    crop = lb._crop(pred)
    if lb.height < lb.new_h or lb.width < lb.new_w:  # shrinking: Pillow's own path
        return quantize(lb.invert(pred))
    return upsample_quantized(crop, lb.width, lb.height, quantize)


def upsample_quantized(crop: np.ndarray, width: int, height: int,
                       quantize: Quantizer) -> np.ndarray:
    """``quantize`` of Pillow's bilinear resize of float32 ``crop`` to (height, width),
    for width, height at least the crop's."""
    h = crop.shape[0]
    rows = crop
    if width != crop.shape[1]:
        rows = np.asarray(Image.fromarray(crop).resize((width, h), Image.Resampling.BILINEAR))
    if height == h:
        return quantize(rows)
    first, taps, k0, k1 = bilinear_coeffs(h, height)
    quantized = quantize(rows)
    out = np.empty((height, width), quantized.dtype)
    starts = np.flatnonzero(np.r_[True, (first[1:] != first[:-1]) | (taps[1:] != taps[:-1])])
    for s, e in zip(starts, np.r_[starts[1:], height]):
        r = first[s]
        out[s:e] = quantized[r]
        if taps[s] < 2:
            continue
        cols = np.flatnonzero(quantized[r] != quantized[r + 1])
        if len(cols):
            mean = (rows[r, cols].astype(np.float64) * k0[s:e, None]
                    + rows[r + 1, cols].astype(np.float64) * k1[s:e, None])
            out[s:e, cols] = quantize(mean.astype(np.float32))
    return out


def bilinear_coeffs(in_size: int, out_size: int):
    """Pillow's bilinear coefficients for enlarging ``in_size`` to ``out_size`` samples:
    the first input sample of each output sample, how many it uses (1 or 2) and their
    weights (float64, normalised as Pillow does)."""
    scale = in_size / out_size  # <= 1: the filter's support stays 1
    center = (np.arange(out_size) + 0.5) * scale
    first = np.maximum((center - 1.0 + 0.5).astype(np.int64), 0)  # C's (int): truncation
    taps = np.minimum((center + 1.0 + 0.5).astype(np.int64), in_size) - first
    w0 = np.maximum(1.0 - np.abs(first - center + 0.5), 0.0)
    w1 = np.where(taps > 1, np.maximum(1.0 - np.abs(first + 1 - center + 0.5), 0.0), 0.0)
    total = w0 + w1
    safe = np.where(total != 0.0, total, 1.0)
    return first, taps, w0 / safe, w1 / safe
