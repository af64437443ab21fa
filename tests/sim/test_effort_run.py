"""The annotation-effort run end to end on a handful of tiny demo images."""

from __future__ import annotations

import csv

import pytest

from napari_specimask.core.demo.samples import demo_samples
from napari_specimask.core.io.images import write_image, write_mask_png
from napari_specimask.core.progress import run
from napari_specimask.core.store.project import Project
from napari_specimask.core.store.registry import list_models
from napari_specimask.sim.effort_run import CSV_COLUMNS, EffortConfig, effort_run


@pytest.fixture
def demo_folders(tmp_path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    for s in demo_samples(n_herbarium=0, n_plankton=6):  # 96-192 px crops
        write_image(images / f"{s.name}.png", s.image)
        write_mask_png(masks / f"{s.name}.png", s.mask)
    return images, masks


def test_continuous_run_writes_rows_and_fine_tunes_during_the_batch(demo_folders, tmp_path):
    cfg = EffortConfig(modes=("continuous",), iterations=1, batch_size=3, n_val=2,
                       n_panel=1, every=2, epochs=1, fine_tune_steps=2, steps=2,
                       train_batch=2, tta=2)
    result = run(effort_run(*demo_folders, tmp_path / "out", cfg))
    with open(result.csv) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 and set(rows[0]) == set(CSV_COLUMNS)
    assert all(r["mode"] == "continuous" and r["iteration"] == "0" for r in rows)
    assert rows[0]["proposal"].startswith("cold start")
    assert all(r["image"].startswith("plankton_") for r in rows)  # as under images/
    assert all(int(r["brush_actions"]) >= 1 and int(r["tool_actions"]) >= 1 for r in rows)
    # every = 2: a short run after the second save, before the third image is shown
    assert [(t["kind"], t["after_saves"]) for t in result.trainings] == [
        ("continuous", 2), ("regular", 3)]
    assert (tmp_path / "out" / "trainings.csv").is_file()
    # the fixed panel: measured before the iteration and after the run, never annotated
    assert [r["iteration"] for r in result.panel] == [0, 1]
    assert result.panel[0]["proposal"].startswith("cold start")
    assert result.panel[0]["image"] == result.panel[1]["image"]
    project = Project.open(tmp_path / "out" / "continuous")
    try:
        assert len(list_models(project)) == 2
        assert len(project.images(role="pool", status="labeled")) == 3
    finally:
        project.close()
