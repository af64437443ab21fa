"""Tests for the synthetic demo set (napari_specimask.core.demo.samples)."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.filters import threshold_otsu

from napari_specimask.core.demo import herbarium, plankton, shapes
from napari_specimask.core.demo import samples as demo_data
from napari_specimask.core.demo.herbarium import make_herbarium_sheet
from napari_specimask.core.demo.plankton import make_plankton
from napari_specimask.core.demo.samples import DemoSample, demo_samples


@pytest.fixture(scope="module")
def samples() -> list[DemoSample]:
    return demo_samples()


def _grey(image: np.ndarray) -> np.ndarray:
    return image.astype(float).mean(axis=2)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * np.logical_and(a, b).sum() / max(a.sum() + b.sum(), 1)


def _of_kind(samples, kind):
    return [s for s in samples if s.kind == kind]


def test_shapes_dtypes_names_and_splits(samples):
    assert len(samples) == 48
    names = [s.name for s in samples]
    assert len(set(names)) == len(names)
    for s in samples:
        assert re.fullmatch(r"(herbarium|plankton)_\d{3}", s.name)
        assert s.name.startswith(s.kind)
        assert s.image.dtype == np.uint8 and s.image.ndim == 3 and s.image.shape[2] == 3
        assert s.mask.dtype == bool and s.mask.shape == s.image.shape[:2]
    for kind in ("herbarium", "plankton"):
        splits = [s.split for s in _of_kind(samples, kind)]
        assert splits == ["pool"] * 16 + ["val"] * 4 + ["test"] * 4
    for s in _of_kind(samples, "herbarium"):
        h, w = s.mask.shape
        assert 320 <= h <= 400 and h > w
    for s in _of_kind(samples, "plankton"):
        h, w = s.mask.shape
        assert 96 <= h <= 192 and 0.7 <= w / h <= 1.31
    assert len({s.image.shape for s in samples}) > 10  # sizes vary


def test_frozen_dataclass(samples):
    with pytest.raises(AttributeError):
        samples[0].name = "other"


def test_deterministic_for_a_seed():
    a, b = demo_samples(3, 3, seed=5), demo_samples(3, 3, seed=5)
    for x, y in zip(a, b):
        assert (x.name, x.kind, x.split) == (y.name, y.kind, y.split)
        np.testing.assert_array_equal(x.image, y.image)
        np.testing.assert_array_equal(x.mask, y.mask)
    c = demo_samples(3, 3, seed=6)
    assert all(x.image.shape != z.image.shape or not np.array_equal(x.image, z.image) for x, z in zip(a, c))


def test_sample_does_not_depend_on_count(samples):
    few = demo_samples(2, 2, seed=0)
    np.testing.assert_array_equal(few[0].image, samples[0].image)
    np.testing.assert_array_equal(few[2].mask, _of_kind(samples, "plankton")[0].mask)


def test_split_counts_for_other_sizes():
    counts = Counter((s.kind, s.split) for s in demo_samples(6, 12))
    assert counts == {("herbarium", "pool"): 4, ("herbarium", "val"): 1, ("herbarium", "test"): 1,
                      ("plankton", "pool"): 8, ("plankton", "val"): 2, ("plankton", "test"): 2}
    assert demo_samples(0, 0) == []


def test_make_functions_direct():
    rng = np.random.Generator(np.random.PCG64(1))
    image, mask = make_herbarium_sheet(rng)
    assert image.shape == (360, 240, 3) and mask.shape == (360, 240)
    image, mask = make_herbarium_sheet(rng, 331, 221)  # odd sizes are fine
    assert image.shape == (331, 221, 3) and mask.any()
    image, mask = make_plankton(rng, size=128)
    assert image.shape == (128, 128, 3) and image.dtype == np.uint8 and mask.any()
    image, mask = make_plankton(rng)
    assert 96 <= image.shape[0] <= 192 and mask.shape == image.shape[:2]


@pytest.mark.parametrize(("kind", "lo", "hi"), [("herbarium", 0.04, 0.30), ("plankton", 0.015, 0.30)])
def test_mask_fraction(samples, kind, lo, hi):
    for s in _of_kind(samples, kind):
        assert lo <= s.mask.mean() <= hi, (s.name, s.mask.mean())
        # one specimen: the biggest connected piece holds nearly the whole mask
        lab, n = ndi.label(s.mask, structure=np.ones((3, 3)))
        assert np.bincount(lab.ravel())[1:].max() >= 0.95 * s.mask.sum(), s.name


def test_herbarium_distractors_outside_mask(samples):
    dices = []
    for s in _of_kind(samples, "herbarium"):
        img = s.image.astype(int)
        grey = _grey(s.image)
        saturation = img.max(axis=2) - img.min(axis=2)
        paper = np.median(grey[~s.mask])
        # label text, chart patches and ruler: very dark or saturated, but not specimen
        distractor = ((grey < 60) | (saturation > 120)) & ~s.mask
        assert distractor.sum() > 300, s.name
        # the plant itself is darker than the paper
        assert grey[s.mask].mean() < paper - 60, s.name
        # the pixels just outside the mask look like paper (mask aligned with drawing)
        ring = ndi.binary_dilation(s.mask, iterations=2) & ~s.mask
        assert np.median(grey[ring]) > paper - 25, s.name
        otsu = grey < threshold_otsu(grey)
        assert (otsu & ~s.mask).sum() > 0.05 * s.mask.sum(), s.name
        dices.append(_dice(otsu, s.mask))
    assert np.mean(dices) < 0.97
    assert np.mean(dices) > 0.5  # the plant is still what Otsu finds mostly


def test_plankton_scale_bar_and_organism(samples):
    for s in _of_kind(samples, "plankton"):
        grey = _grey(s.image)
        background = np.median(grey[~s.mask])
        assert 215 <= background <= 250, s.name
        # ZooScan-like scale bar: dark, touching the bottom border at the left, not specimen
        assert grey[-2:, :12].mean() < background - 120, s.name
        assert not s.mask[-3:, :].any(), s.name
        # the organism is darker than the background, but only moderately (translucent)
        inside = ndi.binary_erosion(s.mask, iterations=2)
        delta = background - np.median(grey[inside if inside.any() else s.mask])
        assert 10 <= delta <= 90, (s.name, delta)
        # nearly grey with at most a very slight tint
        assert np.abs(s.image.astype(int) - grey[..., None]).mean() < 4, s.name


def test_plankton_otsu_is_imperfect(samples):
    dices = []
    for s in _of_kind(samples, "plankton"):
        grey = _grey(s.image)
        dices.append(_dice(grey < threshold_otsu(grey), s.mask))
    assert np.mean(dices) < 0.97


@pytest.mark.parametrize("module", [demo_data, herbarium, plankton, shapes])
def test_only_light_dependencies(module):
    tree = ast.parse(Path(module.__file__).read_text())
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom):  # only the other drawing modules of demo/
            assert node.level == 1 and node.module in ("herbarium", "plankton", "shapes"), \
                node.module
    assert roots <= {"__future__", "dataclasses", "numpy", "scipy", "skimage", "typing", "math"}, roots
