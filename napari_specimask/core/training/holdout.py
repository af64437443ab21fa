"""Validation images for a project that has none yet: hold out a slice of verified masks.

A person in napari verifies a few proposals and presses Train; asking them to move
images to a ``val`` role first (``specimask split``) is a step nobody knows to take.
With no validation images, training moves ``val_fraction`` of the verified pool masks
to the ``val`` role (seeded, at least one) before it starts. They stay there, so every
later model and the proposal gate (``core.loop.gate``) are measured on the same images.
"""

from __future__ import annotations

from ..store.project import Project
from ..store.splits import split_roles
from .config import TrainConfig
from .samples import validation_samples


def hold_out_validation(project: Project, cfg: TrainConfig) -> list[int]:
    """The image ids moved to ``val`` (none when val images exist, the fraction is 0, or
    too few verified masks would be left to train on)."""
    if cfg.val_fraction <= 0 or validation_samples(project):
        return []
    labelled = project.image_ids(role="pool", status="labeled")
    n_val = max(1, round(cfg.val_fraction * len(labelled)))
    left_to_train = len(labelled) - n_val
    if not labelled or left_to_train < (0 if cfg.use_pseudo else 2):
        return []
    if left_to_train == 0:  # cold-start masks train; the one verified mask judges
        project.set_role(labelled, "val")
        return sorted(labelled)
    return split_roles(project, cfg.val_fraction, 0.0, "pool", cfg.seed).val
