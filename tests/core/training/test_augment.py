"""The albumentations presets: the frame and a binary mask kept, geometry shared."""

from __future__ import annotations

import numpy as np
import pytest

from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.training.augment import PRESETS, Augmentation


def _pattern():
    img = np.zeros((64, 64, 3), np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    img[10:40, 20:50] = 255
    mask[10:40, 20:50] = 1
    return img, mask



@pytest.mark.parametrize("preset", PRESETS)
def test_presets_keep_frame_and_binary_mask(preset):
    img, mask = _pattern()
    refs = [np.full((64, 64, 3), v, np.uint8) for v in (80, 160)]
    aug = Augmentation(preset, refs)
    for _ in range(10):
        out_img, out_mask = aug(img, mask)
        assert out_img.shape == img.shape and out_img.dtype == np.uint8
        assert out_mask.shape == mask.shape and set(np.unique(out_mask)) <= {0, 1}



@pytest.mark.parametrize("preset", ["basic", "affine"])
def test_geometric_presets_move_mask_with_image(preset):
    img, mask = _pattern()
    aug = Augmentation(preset, seed=0)  # seeded: the same draws every run
    for _ in range(10):
        out_img, out_mask = aug(img, mask)
        bright = out_img[..., 0] > 127
        agree = (bright == out_mask.astype(bool)).mean()
        assert agree > 0.97  # only interpolation edges may differ



def test_specialized_needs_target_references_and_unknown_preset():
    with pytest.raises(SpecimaskError, match="reference images"):
        Augmentation("specialized", [])
    with pytest.raises(SpecimaskError, match="basic"):
        Augmentation("extreme")

