"""Removing model versions to free disk: what goes, what stays, what is refused."""

from __future__ import annotations

import os
import time

import pytest

from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.model.removal import (
    remove_versions,
    version_bytes,
    versions_beyond_best,
)
from napari_specimask.core.model.weights import load_model
from napari_specimask.core.progress import run
from napari_specimask.core.store.registry import activate, list_models


def test_removal_frees_weights_and_cache_and_keeps_the_record(project, registered_versions):
    v1, v2, v3 = registered_versions(project, [0.5, 0.7, 0.6])
    activate(project, v3)
    assert version_bytes(project, v1) > 4000  # 1000 float32 weights and three cached maps
    out = run(remove_versions(project, [v1, v2]))
    assert out.removed == [v1, v2]
    for v in (v1, v2):
        folder = project.root / "models" / v
        assert not (folder / "weights.safetensors").exists()
        assert (folder / "config.json").exists() and (folder / "metrics.json").exists()
        assert not (project.root / "cache" / v).exists()
    models = {m["version"]: m for m in list_models(project)}
    assert models[v2]["removed"] and models[v2]["metrics"]["best_val_dice"] == 0.7
    assert not models[v3]["removed"]
    with pytest.raises(SpecimaskError, match=f"weights of model {v1} were removed"):
        load_model(project, v1)
    with pytest.raises(SpecimaskError, match="removed"):
        activate(project, v2)


def test_freed_bytes_are_what_was_there(project, registered_versions):
    v1, v2 = registered_versions(project, [0.5, 0.6])
    activate(project, v2)
    weights = (project.root / "models" / v1 / "weights.safetensors").stat().st_size
    cache = sum(p.stat().st_size for p in (project.root / "cache" / v1).rglob("*.png"))
    assert run(remove_versions(project, [v1])).freed_bytes == weights + cache


def test_refuses_the_active_an_unknown_and_a_training_version(project, registered_versions):
    v1, v2 = registered_versions(project, [0.5, 0.6])
    activate(project, v1)
    with pytest.raises(SpecimaskError, match=f"{v1} is the active model; activate another"):
        run(remove_versions(project, [v2, v1]))
    assert (project.root / "models" / v2 / "weights.safetensors").exists()  # nothing went
    with pytest.raises(SpecimaskError, match="no model version 'v404'.*known: v001, v002"):
        run(remove_versions(project, ["v404"]))
    with project.store.transaction() as conn:
        conn.execute("UPDATE models SET status = 'training' WHERE version = ?", (v2,))
    with pytest.raises(SpecimaskError, match="still training.*--force"):
        run(remove_versions(project, [v2]))
    with pytest.raises(SpecimaskError, match="written 0 s ago: its training looks alive"):
        run(remove_versions(project, [v2], force=True))
    long_ago = time.time() - 3600  # a run killed an hour ago
    for path in [project.root / "models" / v2, *(project.root / "models" / v2).rglob("*")]:
        os.utime(path, (long_ago, long_ago))
    assert run(remove_versions(project, [v2], force=True)).removed == [v2]


def test_a_version_activated_meanwhile_is_not_removed(project, registered_versions,
                                                      monkeypatch):
    import napari_specimask.core.model.removal as removal

    v1, v2 = registered_versions(project, [0.5, 0.6])
    activate(project, v2)
    monkeypatch.setattr(removal, "check_removable", lambda *a: None)  # checked, then...
    activate(project, v1)  # ...another process activates it
    with pytest.raises(SpecimaskError, match=f"{v1} became the active model meanwhile"):
        run(remove_versions(project, [v1]))
    assert (project.root / "models" / v1 / "weights.safetensors").exists()
    assert not list_models(project)[0]["removed"]


def test_a_removal_cut_short_is_finished_by_the_next(project, registered_versions,
                                                      monkeypatch):
    from pathlib import Path

    (v1, v2) = registered_versions(project, [0.5, 0.6])
    activate(project, v2)
    real_unlink = Path.unlink

    def killed(self, missing_ok=False):
        raise KeyboardInterrupt  # the process dies as the first file goes

    monkeypatch.setattr(Path, "unlink", killed)
    with pytest.raises(KeyboardInterrupt):
        run(remove_versions(project, [v1]))
    monkeypatch.setattr(Path, "unlink", real_unlink)
    assert (project.root / "models" / v1 / "weights.safetensors").exists()
    removed_at = project.store.read_one("SELECT removed_at FROM models WHERE version = ?", (v1,))
    assert removed_at[0]  # marked before any file went: never listed as usable again
    with pytest.raises(SpecimaskError, match="were removed"):
        activate(project, v1)
    out = run(remove_versions(project, [v1]))
    assert out.removed == [v1] and out.freed_bytes > 0
    assert not (project.root / "models" / v1 / "weights.safetensors").exists()
    again = project.store.read_one("SELECT removed_at FROM models WHERE version = ?", (v1,))
    assert again[0] == removed_at[0]  # the first time is the one recorded


def test_keep_best_keeps_the_active_and_the_best(project, registered_versions):
    versions = registered_versions(project, [0.5, 0.9, None, 0.7, 0.6])
    activate(project, versions[0])
    assert versions_beyond_best(project, 2) == ["v003", "v005"]  # keeps v001 (active), v002, v004
    assert versions_beyond_best(project, 0) == ["v002", "v003", "v004", "v005"]
    run(remove_versions(project, ["v003"]))
    assert "v003" not in versions_beyond_best(project, 0)  # already removed
    with pytest.raises(SpecimaskError, match="--keep-best -1: give how many"):
        versions_beyond_best(project, -1)


def test_freed_bytes_leave_out_what_could_not_be_deleted(project, registered_versions,
                                                         monkeypatch):
    import napari_specimask.core.model.removal as removal

    v1, v2 = registered_versions(project, [0.5, 0.6])
    activate(project, v2)
    weights = (project.root / "models" / v1 / "weights.safetensors").stat().st_size
    monkeypatch.setattr(removal.shutil, "rmtree", lambda *a, **k: None)  # cache stays
    assert run(remove_versions(project, [v1, v1])).freed_bytes == weights  # named twice


def test_a_prediction_running_during_removal_does_not_bring_the_cache_back(
        project, registered_versions, monkeypatch, tmp_path, rgb_image):
    from types import SimpleNamespace

    import numpy as np
    from PIL import Image

    import napari_specimask.core.inference.cache as cache
    from napari_specimask.core.exchange.image_import import import_images

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.roll(rgb_image, 3 * i, axis=1)).save(folder / f"im{i}.png")
    run(import_images(project, folder))
    v1, v2 = registered_versions(project, [0.5, 0.6])
    activate(project, v2)

    def predictions(model, config, paths, device, **kw):  # removal lands after the first
        for i, path in enumerate(paths):
            if i == 1:
                run(remove_versions(project, [v1]))
            yield SimpleNamespace(source=path, probability=np.zeros((40, 60), np.float32),
                                  uncertainty=None, key=str(path))

    monkeypatch.setattr(cache, "shared_model", lambda *a: (None, None, v1))
    monkeypatch.setattr(cache, "predict_images", predictions)
    with pytest.raises(SpecimaskError, match=f"model {v1} was removed while predicting"):
        run(cache.compute_predictions(project, v1, project.image_ids(), tta=1))
    assert not (project.root / "cache" / v1).exists()
