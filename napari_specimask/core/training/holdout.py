"""Validation images for a project that has none yet: hold out a slice of verified masks.

A person in napari verifies a few proposals and presses Train; asking them to move
images to a ``val`` role first (``specimask split``) is a step nobody knows to take.
With no validation images, training moves ``val_fraction`` of the verified pool masks
to the ``val`` role (seeded, at least one) before it starts. They stay there, so every
later model and the proposal gate (``core.loop.gate``) are measured on the same images.
In a distributed run rank zero alone holds out, once, before it reads the samples it
sends to the other ranks (``fit.train``), so every rank trains on the same split.
"""

from __future__ import annotations

from ..store.project import Project
from ..store.splits import split_roles
from ..vocabulary import Role, Status
from .config import TrainConfig
from .samples import validation_samples


def hold_out_size(project: Project, cfg: TrainConfig) -> int:
    """How many verified pool masks ``hold_out_validation`` would move to val now (0:
    none, as val images exist, the fraction is 0, or too few would be left to train on)."""
    if cfg.val_fraction <= 0 or validation_samples(project):
        return 0
    labelled = len(project.image_ids(role=Role.POOL, status=Status.LABELED))
    n_val = max(1, round(cfg.val_fraction * labelled))
    return n_val if labelled and labelled - n_val >= (0 if cfg.use_cold_start else 2) else 0


def hold_out_validation(project: Project, cfg: TrainConfig) -> list[int]:
    """The image ids moved to ``val`` (none when ``hold_out_size`` is 0)."""
    n_val = hold_out_size(project, cfg)
    if not n_val:
        return []
    labelled = project.image_ids(role=Role.POOL, status=Status.LABELED)
    if len(labelled) == n_val:  # cold-start masks train; the verified mask(s) judge
        project.set_role(labelled, "val")
        return sorted(labelled)
    return split_roles(project, cfg.val_fraction, 0.0, "pool", cfg.seed).val
