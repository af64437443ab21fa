"""A round as one job (stop keeps the model, selects nothing) and grid parsing."""

from __future__ import annotations

import threading

import pytest

from napari_specimask.core.demo.project import create_demo_project
from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.io.images import read_mask
from napari_specimask.core.loop.rounds import SelectionPlan, round_config, run_round
from napari_specimask.core.progress import run
from napari_specimask.core.training.grid import combinations, parse_grid


@pytest.fixture
def project(tmp_path):
    p = run(create_demo_project(tmp_path / "demo", n_herbarium=6, n_plankton=6))
    for rec in p.images(role="pool")[:3]:
        p.save_mask(rec.id, read_mask(tmp_path / "demo" / "truth" / f"{rec.name}.png"), "hand")
    yield p
    p.close()


def test_stopping_a_round_keeps_the_model_and_selects_nothing(project):
    cfg = round_config(project, img_size=64, epochs=50, batch_size=2, encoder_weights="none",
                       encoder="resnet18")
    stop = threading.Event()
    job = run_round(project, cfg, SelectionPlan(batch_size=2), "always", stop)
    reports = []

    def report(p):
        reports.append(p)
        if len(reports) == 2:
            stop.set()

    result = run(job, report)
    assert result.trained.status == "stopped" and result.selection is None
    assert not result.activated  # a person who stopped it did not ask for it (even "always")
    assert project.image_ids(status="queued") == []


def test_round_schedule_grows_with_the_iteration(project):
    project.settings.train.epochs_per_iteration, project.settings.train.px_per_iteration = 2, 16
    project.settings.model.img_size, project.settings.train.epochs = 64, 3
    assert (round_config(project).epochs, round_config(project).img_size) == (3, 64)
    from napari_specimask.core.active.queue import select_next

    run(select_next(project, "random", 2))
    assert (round_config(project).epochs, round_config(project).img_size) == (5, 80)


def test_round_rules_are_checked(project):
    cfg = round_config(project)
    with pytest.raises(SpecimaskError, match="unknown activation rule 'sometimes'"):
        run(run_round(project, cfg, SelectionPlan(), "sometimes"))


def test_selection_plan_reads_the_settings_and_zero_means_disjoint(project):
    project.settings.selection.n_batches = 7
    assert SelectionPlan.from_settings(project).n_batches == 7
    assert SelectionPlan.from_settings(project, n_batches=0).n_batches is None
    assert SelectionPlan.from_settings(project, batch_size=3).batch_size == 3


def test_grid_values_are_typed_and_combined():
    grid = parse_grid({"arch": "unet,deeplabv3plus", "freeze_encoder": "yes,no",
                       "lr": "1e-3, 1e-4", "augment": None})
    assert grid == {"arch": ["unet", "deeplabv3plus"], "freeze_encoder": [True, False],
                    "lr": [1e-3, 1e-4]}
    combos = combinations(grid)
    assert len(combos) == 8 and {"arch": "unet", "freeze_encoder": False, "lr": 1e-4} in combos
    assert parse_grid({"lr": "1e-3,0.001"}) == {"lr": [1e-3]}  # duplicates once
    with pytest.raises(SpecimaskError, match="cannot search over 'patience'"):
        parse_grid({"patience": "1,2"})


def test_schedule_given_for_this_run_applies_to_it(project):
    from napari_specimask.core.active.queue import select_next
    from napari_specimask.core.training.config import TrainConfig

    run(select_next(project, "random", 2))  # iteration 1
    cfg = TrainConfig.from_settings(project.settings, iteration=1, epochs=None,
                                    epochs_per_iteration=2, px_per_iteration=16)
    base = project.settings
    assert cfg.epochs == base.train.epochs + 2 and cfg.img_size == base.model.img_size + 16
