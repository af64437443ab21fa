"""The error and difference maps QA draws over an image."""

from __future__ import annotations

import numpy as np

from napari_specimask.core.inference.qa import (
    A_RIGHT,
    B_RIGHT,
    FN,
    FP,
    TP,
    difference_map,
    error_map,
)


def test_error_map_marks_each_kind_of_pixel():
    pred = np.array([[1, 1, 0, 0]], bool)
    truth = np.array([[1, 0, 1, 0]], bool)
    assert error_map(pred, truth).tolist() == [[TP, FP, FN, 0]]


def test_difference_map_says_which_version_the_truth_sides_with():
    # columns: both right (fg), both right (bg), both wrong, only a right, only b right (x2)
    truth = np.array([[1, 0, 1, 1, 0, 1]], bool)
    a = np.array([[1, 0, 0, 1, 1, 0]], bool)
    b = np.array([[1, 0, 0, 0, 0, 1]], bool)
    out = difference_map(a, b, truth)
    assert out.dtype == np.uint8
    assert out.tolist() == [[0, 0, 0, A_RIGHT, B_RIGHT, B_RIGHT]]


def test_difference_map_is_nonzero_exactly_where_the_masks_disagree():
    rng = np.random.default_rng(0)
    a, b, truth = (rng.random((3, 40, 50)) > 0.5)
    out = difference_map(a, b, truth)
    assert np.array_equal(out > 0, a != b)
    assert np.array_equal(out == A_RIGHT, (a != b) & (a == truth))
    assert np.array_equal(difference_map(a, a, truth), np.zeros_like(out))
