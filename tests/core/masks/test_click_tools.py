"""One-click mask edits on tiny synthetic images."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_specimask.core.masks.click_tools import (
    fill_object_holes,
    grow_colour,
    grow_probability,
    remove_blob,
)


def _two_blobs():
    mask = np.zeros((64, 64), bool)
    mask[5:20, 5:20] = True        # a label box taken in
    mask[30:60, 30:60] = True      # the plant, with a hole
    mask[40:45, 40:45] = False
    return mask


def test_remove_blob_takes_only_the_clicked_object():
    mask = _two_blobs()
    out = remove_blob(mask, (10, 10))
    assert not out[5:20, 5:20].any() and np.array_equal(out[30:, 30:], mask[30:, 30:])
    assert np.array_equal(remove_blob(mask, (0, 63)), mask)   # a click on background
    assert np.array_equal(remove_blob(mask, (99, 99)), mask)  # outside the image


def test_fill_holes_of_the_clicked_object_only():
    mask = _two_blobs()
    ring = np.zeros((64, 64), bool)  # a label frame, whose inside must stay open
    ring[2:4, 30:50] = ring[14:16, 30:50] = ring[2:16, 30:32] = ring[2:16, 48:50] = True
    mask |= ring
    out = fill_object_holes(mask, (35, 35))
    assert out[40:45, 40:45].all() and not out[5:14, 33:47].any()


def test_grow_probability_adds_the_faint_leaf_around_the_click():
    prob = np.full((64, 64), 0.02, np.float32)
    prob[10:30, 10:30] = 0.3           # a leaf the model saw faintly (p < 0.5)
    prob[40:50, 40:50] = 0.3           # another, not clicked
    mask = np.zeros((64, 64), bool)
    out = grow_probability(mask, prob, (20, 20))
    assert out[10:30, 10:30].all() and not out[40:50, 40:50].any()
    assert out.sum() == 400
    assert not grow_probability(mask, prob, (0, 0)).any()  # background: nothing


def test_grow_colour_follows_the_clicked_colour():
    rgb = np.full((64, 64, 3), 235, np.uint8)
    rgb[20:40, 10:50] = (40, 110, 40)    # a green leaf
    rgb[20:40, 30:50] = (45, 115, 42)    # the same leaf, a shade lighter
    rgb[50:60, 10:20] = (40, 110, 40)    # another leaf, not touching
    out = grow_colour(np.zeros((64, 64), bool), rgb, (30, 15))
    assert out[20:40, 10:50].all() and not out[50:60, 10:20].any()
    assert out.sum() == 20 * 40
    # the window keeps work local on a huge image: the leaf is still found whole
    assert grow_colour(np.zeros((64, 64), bool), rgb, (30, 15), window=32)[25:35, 10:30].all()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 63), st.integers(0, 63), st.integers(0, 2**31 - 1))
def test_tools_only_add_or_only_remove(r, c, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random((64, 64)) > 0.6
    prob = rng.random((64, 64)).astype(np.float32)
    rgb = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    assert not (remove_blob(mask, (r, c)) & ~mask).any()         # never adds
    for grown in (fill_object_holes(mask, (r, c)), grow_probability(mask, prob, (r, c)),
                  grow_colour(mask, rgb, (r, c))):
        assert not (mask & ~grown).any()                          # never removes
