"""The names options and records can take (architectures, losses, presets, strategies;
an image's role and status, a mask's origin and kind, ...).

Kept apart from the modules that use them, which import torch, Lightning and
albumentations: the command line builds its parser from these names, and a
`specimask status` should not wait seconds for a deep-learning stack it never uses.
"""

from __future__ import annotations

from enum import Enum

try:
    from enum import StrEnum
except ImportError:  # Python 3.10
    class StrEnum(str, Enum):
        def __str__(self) -> str:
            return str(self.value)


class Role(StrEnum):
    """What an image is for: the pool people annotate and train on, validation (the gate
    judges on it), test (never trained on), source (another domain's masks)."""
    POOL = "pool"
    VAL = "val"
    TEST = "test"
    SOURCE = "source"


class Status(StrEnum):
    UNLABELED = "unlabeled"
    QUEUED = "queued"        # chosen for annotation, not yet saved
    LABELED = "labeled"      # has a verified mask
    SKIPPED = "skipped"


class Origin(StrEnum):
    """How a saved mask came to be."""
    HAND = "hand"            # painted with no proposal to start from
    CORRECTED = "corrected"  # a proposal, changed
    ACCEPTED = "accepted"    # a proposal, saved as is
    COLD_START = "coldstart"  # made by classic image processing, not verified
    IMPORTED = "imported"    # from a mask folder or Label Studio, verified


class MaskKind(StrEnum):
    """Which mask of an image is asked for."""
    VERIFIED = "verified"    # the latest saved by a person (or imported as labels)
    COLD_START = "coldstart"  # the latest cold-start mask
    PROPOSAL = "proposal"    # what a queued image is shown


COLD_START = Origin.COLD_START  # also the source of a proposal that no model made
OLD_COLD_START = "pseudo"  # how projects before schema 9 and old commands spelled it
VERIFIED_ORIGINS = (Origin.HAND, Origin.CORRECTED, Origin.ACCEPTED, Origin.IMPORTED)

ARCHS = {"unet": "Unet", "deeplabv3plus": "DeepLabV3Plus", "unetplusplus": "UnetPlusPlus"}
LOSSES = ("tversky", "dice", "bce", "dicefocal")
PRESETS = ("none", "basic", "occlusion", "affine", "domain", "specialized")
LOGGERS = ("csv", "tensorboard", "wandb")
TRAIN_ROLES = ("pool", "source")  # the roles whose images train (val and test never do)
STRATEGIES = ("random", "uncertainty", "stochastic")  # = core.active.strategies.REGISTRY
AGGREGATIONS = ("mean", "max", "sum")
MEASURES = ("variance", "entropy", "mi", "jsd")
PHOTOMETRIC = {"gamma": (0.8, 1.25), "noise": (0.03,)}  # extra TTA views and their settings
ACTIVATE_WHEN = ("better", "always", "never")
GRID_KEYS: dict[str, type] = {
    "arch": str, "encoder": str, "img_size": int, "batch_size": int, "epochs": int,
    "lr": float, "loss": str, "augment": str, "freeze_encoder": bool, "two_stage": bool,
}


def in_words(token: str | None) -> str:
    """How a token reads in a sentence (``coldstart``: cold-start)."""
    return "cold-start" if token == COLD_START else str(token)
