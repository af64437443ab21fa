"""Letterbox: pad to square (never crop), resize, and map back exactly."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_specimask.core.masks.letterbox import Letterbox

sizes = st.integers(11, 1200)
model_sizes = st.sampled_from([32, 64, 128, 512])


@given(h=sizes, w=sizes, size=model_sizes)
@settings(max_examples=150, deadline=None)
def test_geometry_fits_inside_without_cropping(h, w, size):
    lb = Letterbox.fit(h, w, size)
    assert 1 <= lb.new_h <= size and 1 <= lb.new_w <= size
    assert max(lb.new_h, lb.new_w) == size  # the long side fills the model input
    assert lb.top >= 0 and lb.left >= 0
    assert lb.top + lb.new_h <= size and lb.left + lb.new_w <= size
    # aspect ratio kept up to rounding of one pixel
    assert abs(lb.new_h - h * size / max(h, w)) <= 0.5 + 1e-9 or lb.new_h == 1
    assert lb.valid().sum() == lb.new_h * lb.new_w


@given(h=st.integers(11, 400), w=st.integers(11, 400), size=model_sizes,
       value=st.integers(1, 255))
@settings(max_examples=60, deadline=None)
def test_constant_image_round_trips_exactly(h, w, size, value):
    lb = Letterbox.fit(h, w, size)
    img = np.full((h, w, 3), value, np.uint8)
    boxed = lb.apply(img)
    assert boxed.shape == (size, size, 3)
    assert (boxed[lb.valid()] == value).all() and (boxed[~lb.valid()] == 0).all()
    back = lb.invert(boxed[..., 0].astype(np.float32))
    assert back.shape == (h, w)
    np.testing.assert_allclose(back, value, atol=1e-3)  # padding never bleeds in


@given(h=st.integers(11, 300), w=st.integers(11, 300), size=st.sampled_from([64, 128]),
       data=st.data())
@settings(max_examples=60, deadline=None)
def test_mask_round_trip_only_differs_near_edges(h, w, size, data):
    lb = Letterbox.fit(h, w, size)
    y0 = data.draw(st.integers(0, h - 2))
    x0 = data.draw(st.integers(0, w - 2))
    y1 = data.draw(st.integers(y0 + 1, h))
    x1 = data.draw(st.integers(x0 + 1, w))
    mask = np.zeros((h, w), bool)
    mask[y0:y1, x0:x1] = True
    back = lb.invert_mask(lb.apply(mask.astype(np.float32)))
    assert back.shape == (h, w)
    # disagreement is confined to a band of about one model pixel around the rectangle
    band = math.ceil(max(h, w) / size) + 1
    far_inside = np.zeros_like(mask)
    if y1 - band > y0 + band and x1 - band > x0 + band:
        far_inside[y0 + band : y1 - band, x0 + band : x1 - band] = True
    far_outside = np.ones_like(mask)
    far_outside[max(0, y0 - band) : y1 + band, max(0, x0 - band) : x1 + band] = False
    assert back[far_inside].all()
    assert not back[far_outside].any()


def test_extreme_aspect_ratios():
    for h, w in [(11, 15), (15, 11), (11, 5000), (5000, 11), (1, 1)]:
        lb = Letterbox.fit(h, w, 64)
        out = lb.apply(np.ones((h, w), np.float32))
        assert out.shape == (64, 64) and out.sum() > 0
        assert lb.invert(out).shape == (h, w)


def test_large_scan_inverse_is_one_float_copy():
    lb = Letterbox.fit(9000, 6000, 512)
    back = lb.invert(np.zeros((512, 512), np.float32))
    assert back.shape == (9000, 6000) and back.dtype == np.float32
