"""Augmentation presets (albumentations), applied to letterboxed images at model size.

Every image is letterboxed first (``letterbox.py``: padded to square, never cropped), so
the presets only use transforms that keep the frame: flips, rotations, affine, dropout,
distortions and photometric changes. Presets build on each other as in the plankton
workflow: basic < occlusion < affine < domain < specialized.
"""

from __future__ import annotations

from collections.abc import Sequence

import albumentations as A
import cv2
import numpy as np

from ..errors import SpecimaskError
from ..vocabulary import PRESETS


class Augmentation:
    """A preset's pipeline; call with (image uint8 RGB, mask uint8 0/1) -> both augmented.

    Reference images (uint8 RGB, from the project's unlabelled target pool) feed FDA and
    histogram matching in ``specialized``, pulling source images toward the target
    domain's colours and textures; albumentations takes them with every call.
    """

    def __init__(self, preset: str, reference_images: Sequence[np.ndarray] = (),
                 seed: int | None = None):
        if preset not in PRESETS:
            raise SpecimaskError(f"unknown augmentation preset {preset!r}; choose one of "
                                 f"{', '.join(PRESETS)}")
        self.preset = preset
        self.references = [np.ascontiguousarray(r) for r in reference_images]
        if preset == "specialized" and not self.references:
            raise SpecimaskError("the 'specialized' preset needs reference images from the "
                                 "unlabelled target pool; add pool images or pick 'domain'")
        # albumentations keeps its own generator: without a seed, runs differ
        self.compose = A.Compose(_transforms(PRESETS.index(preset)), seed=seed)

    def __call__(self, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        extra = {"fda_metadata": self.references, "hm_metadata": self.references} \
            if self.references else {}
        out = self.compose(image=image, mask=mask, **extra)
        return out["image"], out["mask"]


def _transforms(level: int) -> list:
    t: list = []
    if level >= 1:  # basic: flips and rotation (the resize is the letterbox)
        t += [A.HorizontalFlip(p=0.5), A.VerticalFlip(p=0.5)]
        if level < 3:
            t += [A.RandomRotate90(p=0.5),
                  A.Rotate(limit=30, border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=0,
                           p=0.5)]
    if level >= 2:  # occlusion: coarse dropout (labels, fingers, debris over the specimen)
        t += [A.CoarseDropout(num_holes_range=(1, 4), hole_height_range=(0.05, 0.15),
                              hole_width_range=(0.05, 0.15), fill=0, fill_mask=None, p=0.5)]
    if level >= 3:  # affine replaces free rotation: scale, shear, translate, rotate
        t += [A.Affine(scale=(0.8, 1.2), translate_percent=(-0.08, 0.08), rotate=(-45, 45),
                       shear=(-10, 10), border_mode=cv2.BORDER_CONSTANT, fill=0, fill_mask=0,
                       p=0.7)]
    if level >= 4:  # domain: optics and sensors of other scanners and microscopes
        t += [A.GridDistortion(num_steps=5, distort_limit=0.2, border_mode=cv2.BORDER_CONSTANT,
                               p=0.3),
              A.RandomGamma(gamma_limit=(70, 150), p=0.5),
              A.ISONoise(color_shift=(0.01, 0.05), intensity=(0.1, 0.5), p=0.3),
              A.GaussianBlur(blur_limit=(3, 5), p=0.3),
              A.Downscale(scale_range=(0.5, 0.9), p=0.3)]
    if level >= 5:  # specialized: FDA and histogram matching toward the target pool
        t += [A.FDA(beta_limit=(0, 0.05), p=0.5),
              A.HistogramMatching(blend_ratio=(0.5, 1.0), p=0.5)]
    return t
