"""Model versions in the store, without torch: the registry takes the config as a dict
(``asdict(ModelConfig(...))``), so no network or weights are needed here."""

from __future__ import annotations

import json

import pytest

from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.store.registry import (
    activate,
    active_version,
    check_not_removed,
    finish_version,
    list_models,
    mark_removed,
    new_version,
)

CONFIG = {"arch": "unet", "encoder": "resnet18", "img_size": 64, "loss": "tversky"}


def test_versions_are_registered_from_a_plain_config(project):
    v1 = new_version(project, None, 1, [3, 4], CONFIG)
    v2 = new_version(project, v1, 2, [3], dict(CONFIG, img_size=128))
    assert (v1, v2) == ("v001", "v002")
    assert (project.root / "models" / v2).is_dir()
    with pytest.raises(SpecimaskError, match="v001 is training"):
        activate(project, v1)
    finish_version(project, v1, "ready", {"best_val_dice": 0.8})
    activate(project, v1)
    first, second = list_models(project)
    assert (first["arch"], first["encoder"], first["img_size"]) == ("unet", "resnet18", 64)
    assert first["config"] == CONFIG and first["train_image_ids"] == [3, 4]
    assert first["active"] and first["metrics"] == {"best_val_dice": 0.8}
    assert (second["parent"], second["status"], second["img_size"]) == (v1, "training", 128)
    saved = json.loads((project.root / "models" / v1 / "metrics.json").read_text())
    assert saved == {"best_val_dice": 0.8} and active_version(project) == v1


def test_only_an_inactive_version_is_marked_removed(project):
    v1, v2 = (new_version(project, None, None, [], CONFIG) for _ in range(2))
    for v in (v1, v2):
        finish_version(project, v, "ready", {})
    activate(project, v1)
    assert not mark_removed(project, v1)  # the active one stays
    assert mark_removed(project, v2)
    assert mark_removed(project, v2)  # again: keeps the first time of removal
    with pytest.raises(SpecimaskError, match="weights of model v002 were removed"):
        check_not_removed(project, v2)
    with pytest.raises(SpecimaskError, match="weights of model v002 were removed"):
        activate(project, v2)
    check_not_removed(project, v1)

