"""The names options can take (architectures, losses, presets, strategies, ...).

Kept apart from the modules that use them, which import torch, Lightning and
albumentations: the command line builds its parser from these names, and a
`specimask status` should not wait seconds for a deep-learning stack it never uses.
"""

from __future__ import annotations

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
