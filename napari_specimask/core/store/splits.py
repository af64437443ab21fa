"""Hold out labelled images for validation and testing, reproducibly.

Both reference workflows start from a data set that arrives with masks (the fern set, a
clean plankton source set) and keep a part of it aside to rank models. ``split_roles``
moves a random fraction of one role's labelled images to ``val`` and ``test``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import SpecimaskError
from ..vocabulary import Role, Status
from .project import Project
from .schema import ROLES


@dataclass(frozen=True)
class SplitReport:
    candidates: int
    val: list[int]
    test: list[int]


def split_roles(project: Project, val: float = 0.1, test: float = 0.0,
                from_role: str = "pool", seed: int = 0) -> SplitReport:
    """Move ``round(val * n)`` and ``round(test * n)`` of the ``n`` labelled images of
    ``from_role`` to the val and test roles (at least one each when the fraction > 0)."""
    if from_role not in ROLES or from_role in (Role.VAL, Role.TEST):
        raise SpecimaskError(f"--from {from_role!r}: split images of role pool or source")
    if not (0 <= val < 1 and 0 <= test < 1 and val + test < 1):
        raise SpecimaskError(f"--val {val} --test {test}: fractions must be in [0, 1) and "
                             "leave some images for training")
    ids = project.image_ids(role=from_role, status=Status.LABELED)
    n_val = max(1, round(val * len(ids))) if val else 0
    n_test = max(1, round(test * len(ids))) if test else 0
    if n_val + n_test >= len(ids):
        raise SpecimaskError(f"{project.root}: {len(ids)} labelled {from_role} image(s) are "
                             f"too few to hold out {n_val} val and {n_test} test and still "
                             "train; label more or lower the fractions")
    order = np.random.default_rng(seed).permutation(len(ids))
    val_ids = sorted(ids[i] for i in order[:n_val])
    test_ids = sorted(ids[i] for i in order[n_val:n_val + n_test])
    project.set_role(val_ids, "val")
    project.set_role(test_ids, "test")
    return SplitReport(len(ids), val_ids, test_ids)
