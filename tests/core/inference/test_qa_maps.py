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


def _two_random_models(root):
    """A project of two 48 x 40 random images, ``sheet`` with a verified mask and
    ``bare`` without, and two random Unet/resnet18 versions at 32 px (v001, v002)."""
    from dataclasses import asdict

    import torch
    from PIL import Image

    from napari_specimask.core.exchange.image_import import import_images
    from napari_specimask.core.model.factory import create_model
    from napari_specimask.core.model.weights import ModelConfig, save_weights
    from napari_specimask.core.progress import run
    from napari_specimask.core.store.project import Project
    from napari_specimask.core.store.registry import finish_version, new_version

    rng = np.random.default_rng(1)
    (root / "images").mkdir(parents=True)
    for name in ("sheet", "bare"):
        Image.fromarray(rng.integers(0, 255, (48, 40, 3), dtype=np.uint8)).save(
            root / "images" / f"{name}.png")
    project = Project.create(root / "p")
    run(import_images(project, root / "images"))
    ids = {r.name: r.id for r in project.images()}
    truth = np.zeros((48, 40), bool)
    truth[10:30, 8:28] = True
    project.save_mask(ids["sheet"], truth, "hand")
    config = ModelConfig(encoder="resnet18", img_size=32)
    for seed in (0, 1):
        torch.manual_seed(seed)
        version = new_version(project, None, 0, [], asdict(config))
        save_weights(project.root / "models" / version,
                     create_model("unet", "resnet18", None).state_dict(), config)
        finish_version(project, version, "ready", {})
    return project, ids, truth


def test_compare_on_image_gives_each_versions_errors_and_where_they_differ(tmp_path):
    import pytest

    from napari_specimask.core.errors import SpecimaskError
    from napari_specimask.core.inference.cache import cached_prediction
    from napari_specimask.core.inference.qa import DIFFERENCE, ERRORS, compare_on_image
    from napari_specimask.core.masks.metrics import dice_iou
    from napari_specimask.core.progress import run

    project, ids, truth = _two_random_models(tmp_path)
    with project:
        comparison = run(compare_on_image(project, "v001", "v002", ids["sheet"]))
        assert comparison.name == "sheet" and comparison.image.shape == (48, 40, 3)
        one, two, diff = comparison.panels
        assert [p.kind for p in comparison.panels] == [ERRORS, ERRORS, DIFFERENCE]
        masks = []
        for panel, version in ((one, "v001"), (two, "v002")):
            masks.append(cached_prediction(project, version, ids["sheet"], 1).mask)
            dice = dice_iou(masks[-1], truth)[0]
            assert panel.label == f"{version} errors · Dice {dice:.4f}"
            assert np.array_equal(panel.data, error_map(masks[-1], truth))
        assert np.array_equal(diff.data, difference_map(*masks, truth))
        assert diff.what == "v001 vs v002" and diff.detail.endswith("% differ")
        assert len(run(compare_on_image(project, "v002", None, ids["sheet"])).panels) == 1
        with pytest.raises(SpecimaskError, match="bare has no verified mask"):
            run(compare_on_image(project, "v001", None, ids["bare"]))
