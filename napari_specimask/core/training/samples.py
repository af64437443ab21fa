"""Training and validation samples drawn from the project store.

Training = verified masks of role pool (the target) and source, plus cold-start
masks if asked. Validation = verified masks of role val; val and test images can never
enter training because only pool/source roles are read for it. Each sample carries its
sampling weight: hand-verified target images count ``hand_weight`` times a source or
cold-start image in the weighted sampler.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import SpecimaskError
from ..io.images import read_image, read_mask, to_rgb8
from ..masks.letterbox import Letterbox
from ..model.factory import IMAGENET_MEAN, IMAGENET_STD
from ..store.project import Project
from ..vocabulary import COLD_START, TRAIN_ROLES, MaskKind, Role, Status
from .augment import Augmentation


@dataclass(frozen=True)
class Sample:
    image_id: int
    image_path: Path
    mask_path: Path
    kind: str      # "target" (verified, role pool), "source", or "coldstart"
    weight: float


def training_samples(project: Project, hand_weight: float = 10.0, use_cold_start: bool = False,
                     cold_start_roles: tuple[str, ...] = TRAIN_ROLES) -> list[Sample]:
    """``cold_start_roles`` limits cold-start masks to some roles: in transfer learning the
    clean source set's classic masks are good, the noisy target pool's are not."""
    unknown = [r for r in cold_start_roles if r not in TRAIN_ROLES]
    if unknown:
        raise SpecimaskError(f"cold_start_roles: unknown role(s) {', '.join(unknown)}; cold-start "
                             f"masks train only from {' and '.join(TRAIN_ROLES)} images")
    out = []
    verified_masks = project.mask_paths(MaskKind.VERIFIED)
    cold_masks = project.mask_paths(MaskKind.COLD_START) if use_cold_start else {}
    for role in TRAIN_ROLES:
        for rec in project.images(role=role):
            verified, cold = verified_masks.get(rec.id), cold_masks.get(rec.id)
            if rec.status == Status.LABELED and verified is not None:
                kind = "target" if role == Role.POOL else "source"
                out.append(Sample(rec.id, project.image_path(rec), verified, kind,
                                  hand_weight if kind == "target" else 1.0))
            elif use_cold_start and role in cold_start_roles and cold is not None \
                    and rec.status != Status.SKIPPED:
                out.append(Sample(rec.id, project.image_path(rec), cold, COLD_START, 1.0))
    return out


def validation_samples(project: Project) -> list[Sample]:
    masks = project.mask_paths(MaskKind.VERIFIED)
    return [Sample(r.id, project.image_path(r), masks[r.id], "val", 1.0)
            for r in project.images(role=Role.VAL, status=Status.LABELED) if r.id in masks]


def normalise(rgb: np.ndarray, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> torch.Tensor:
    """(H, W, 3) uint8 -> (3, H, W) float32 normalised as the encoder expects."""
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float().div_(255.0)
    m = torch.tensor(mean, dtype=torch.float32)[:, None, None]
    s = torch.tensor(std, dtype=torch.float32)[:, None, None]
    return (x - m) / s


class SegmentationDataset(Dataset):
    """Letterboxed (image, mask) pairs at ``img_size``, augmented on the fly.

    Letterboxed uint8 arrays are cached in memory (a 512 px image is 0.8 MB), so each
    epoch after the first reads no files.
    """

    def __init__(self, samples: list[Sample], img_size: int,
                 augmentation: Augmentation | None = None, max_pixels: int | None = None):
        self.samples = samples
        self.img_size = img_size
        self.augmentation = augmentation
        self.max_pixels = max_pixels
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:
        return len(self.samples)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if index not in self._cache:
            s = self.samples[index]
            img = to_rgb8(read_image(s.image_path, self.max_pixels))
            mask = read_mask(s.mask_path, img.shape[:2], s.image_path, self.max_pixels)
            lb = Letterbox.fit(*img.shape[:2], self.img_size)
            self._cache[index] = (lb.apply(img), lb.apply_mask(mask).astype(np.uint8))
        return self._cache[index]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        img, mask = self.load(index)
        if self.augmentation is not None:
            img, mask = self.augmentation(img, mask)
        return normalise(img), torch.from_numpy(np.ascontiguousarray(mask))[None].float()
