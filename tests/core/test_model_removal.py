"""Removing model versions to free disk: what goes, what stays, what is refused."""

from __future__ import annotations

import pytest

from napari_specimask.core.checkpoints import activate, list_models, load_model
from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.model_removal import (
    remove_versions,
    version_bytes,
    versions_beyond_best,
)
from napari_specimask.core.progress import run


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
    assert run(remove_versions(project, [v2], force=True)).removed == [v2]


def test_a_removal_cut_short_is_finished_by_the_next(project, registered_versions):
    (v1, v2) = registered_versions(project, [0.5, 0.6])
    activate(project, v2)
    job = remove_versions(project, [v1])
    next(job)  # the first report comes before anything is touched
    with project.store.transaction() as conn:  # as if killed after marking it removed
        conn.execute("UPDATE models SET removed_at = '2026-01-01' WHERE version = ?", (v1,))
    job.close()
    assert (project.root / "models" / v1 / "weights.safetensors").exists()
    out = run(remove_versions(project, [v1]))
    assert out.removed == [v1] and out.freed_bytes > 0
    assert not (project.root / "models" / v1 / "weights.safetensors").exists()
    removed_at = project.store.read_one("SELECT removed_at FROM models WHERE version = ?", (v1,))
    assert removed_at[0] == "2026-01-01"  # the first time is the one recorded


def test_keep_best_keeps_the_active_and_the_best(project, registered_versions):
    versions = registered_versions(project, [0.5, 0.9, None, 0.7, 0.6])
    activate(project, versions[0])
    assert versions_beyond_best(project, 2) == ["v003", "v005"]  # keeps v001 (active), v002, v004
    assert versions_beyond_best(project, 0) == ["v002", "v003", "v004", "v005"]
    run(remove_versions(project, ["v003"]))
    assert "v003" not in versions_beyond_best(project, 0)  # already removed
