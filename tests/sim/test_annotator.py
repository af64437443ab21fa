"""The scripted annotator's action counts on tiny synthetic masks."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from napari_specimask.sim.annotator import (
    STROKE_CELLS,
    TARGET_DICE,
    annotation_effort,
    brush_diameter,
)


def _square(size=64, lo=10, hi=50):
    truth = np.zeros((size, size), bool)
    truth[lo:hi, lo:hi] = True
    return truth


def test_a_perfect_proposal_costs_one_action_and_no_pixels():
    truth = _square()
    e = annotation_effort(truth, truth)
    assert (e.brush_actions, e.tool_actions, e.pixels_to_change) == (1, 1, 0)
    assert e.dice_before == 1.0


def test_a_good_enough_proposal_is_accepted_as_is():
    truth = _square()
    proposal = truth.copy()
    proposal[10, 10:20] = False  # 10 px short: Dice > 0.95
    e = annotation_effort(proposal, truth)
    assert (e.brush_actions, e.tool_actions, e.pixels_to_change) == (1, 1, 0)


def test_an_extra_blob_takes_strokes_by_brush_and_one_click_with_tools():
    truth = _square(lo=20, hi=44)           # 576 px
    proposal = truth.copy()
    proposal[0:16, 48:64] = True            # a label taken in, apart from the object
    d = brush_diameter(truth.shape)
    cells = math.ceil(16 / d) ** 2          # the blob starts on the grid (0, 48)
    e = annotation_effort(proposal, truth)
    assert e.dice_before < TARGET_DICE
    # the formula's strokes, a change from the painting brush to erasing, a save
    assert e.brush_strokes == math.ceil(cells / STROKE_CELLS)
    assert e.brush_actions == e.brush_strokes + 2
    assert (e.tool_actions, e.remove_blob, e.tool_mode_strokes) == (2, 1, 0)  # click, save
    assert e.pixels_to_change == 256


def test_a_hole_is_filled_with_one_click():
    truth = _square()
    proposal = truth.copy()
    proposal[20:40, 20:40] = False          # 400 px hole: Dice 0.857
    e = annotation_effort(proposal, truth)
    assert (e.tool_actions, e.fill_object_holes) == (2, 1)
    assert e.pixels_to_change == 400
    d = brush_diameter(truth.shape)          # 2 px: the hole touches 10 x 10 cells
    assert e.brush_actions == math.ceil((20 // d) ** 2 / STROKE_CELLS) + 1


def test_pixels_to_change_counts_exactly_what_the_brush_fixed():
    truth = _square()                        # 1600 px
    proposal = truth.copy()
    proposal[10:50, 10:20] = False           # 400 px missing at the edge
    proposal[55:60, 0:5] = True              # 25 px speck: fixed only if still needed
    e = annotation_effort(proposal, truth)
    # after the missing strip Dice is 2*1600/(1625+1600) = 0.992: the speck stays
    assert e.pixels_to_change == 400
    assert e.dice_after_brush >= TARGET_DICE


def test_colour_and_probability_grow_a_missed_region():
    truth = _square()
    rgb = np.full((64, 64, 3), 230, np.uint8)
    rgb[truth] = (40, 90, 30)
    proposal = np.zeros_like(truth)
    proposal[10:20, 10:50] = True            # only the top quarter found
    e = annotation_effort(proposal, truth, rgb=rgb)
    assert (e.grow_colour, e.tool_actions) == (1, 2)
    e = annotation_effort(proposal, truth, rgb=rgb, probability=truth * 0.9)
    assert (e.grow_probability, e.grow_colour, e.tool_actions) == (1, 0, 2)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.0, 0.6), st.sampled_from([0.0, 0.05, 0.4]))
def test_the_annotator_always_reaches_the_target(seed, noise, density):
    rng = np.random.default_rng(seed)
    truth = rng.random((64, 64)) < density
    flip = rng.random((64, 64)) < noise
    proposal = truth ^ flip
    rgb = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    e = annotation_effort(proposal, truth, rgb=rgb, probability=rng.random((64, 64)))
    assert e.dice_after_brush >= TARGET_DICE and e.dice_after_tools >= TARGET_DICE
    assert e.brush_actions >= 1 and e.tool_actions >= 1
    assert e.pixels_to_change <= np.count_nonzero(flip)
    if e.dice_before < TARGET_DICE:
        assert e.pixels_to_change > 0 and e.brush_actions >= 2
