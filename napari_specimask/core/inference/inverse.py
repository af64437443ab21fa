"""The letterbox inverse at full size, quantized, without a full-size float map.

``Letterbox.invert`` upsamples a model-size map to the image's size with Pillow's
bilinear filter in float32 (about 1 s for a 9000 x 6000 sheet), and a mask or an 8-bit
map is then derived pixel by pixel. Here the same result comes exactly, several times
faster: Pillow's horizontal pass runs as is (it touches only model-size rows), and the
vertical pass, each output pixel a weighted mean of two rows of that, is evaluated only
where those two rows quantize differently. Elsewhere every mean of them quantizes to the
same value, since the quantizers (a threshold, ``to_byte``) are monotone and a mean of
two float32 values rounds to a float32 between them. The coefficients are Pillow's own
(``precompute_coeffs`` in Resample.c); tests/core/inference/test_pipeline.py checks the
result against ``Letterbox.invert`` bit for bit.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PIL import Image

from ..masks.letterbox import Letterbox

Quantizer = Callable[[np.ndarray], np.ndarray]


def to_byte(unit: np.ndarray) -> np.ndarray:
    """A [0, 1] map as uint8 0..255 (rounded)."""
    return np.clip(unit * 255.0 + 0.5, 0, 255).astype(np.uint8)


def threshold_at(threshold: float) -> Quantizer:
    return lambda v: v >= threshold


def invert_quantized(lb: Letterbox, pred: np.ndarray, quantize: Quantizer) -> np.ndarray:
    """``quantize(lb.invert(pred))``, bit for bit, at a fraction of its time and memory."""
    if pred.shape[:2] != (lb.size, lb.size):
        raise ValueError(f"prediction is {pred.shape[:2]}, expected {(lb.size, lb.size)}")
    crop = np.ascontiguousarray(
        pred[lb.top : lb.top + lb.new_h, lb.left : lb.left + lb.new_w], dtype=np.float32)
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


def reduced_map(lb: Letterbox, pred: np.ndarray, long_side: int) -> np.ndarray:
    """A map as uint8 at ``long_side`` px on the image's long side (never larger than
    the image), from the image's part of the model-size map (bilinear)."""
    scale = min(1.0, long_side / max(lb.height, lb.width))
    h = max(1, round(lb.height * scale))
    w = max(1, round(lb.width * scale))
    crop = np.ascontiguousarray(
        pred[lb.top : lb.top + lb.new_h, lb.left : lb.left + lb.new_w], dtype=np.float32)
    return to_byte(np.asarray(Image.fromarray(crop).resize((w, h),
                                                           Image.Resampling.BILINEAR)))
