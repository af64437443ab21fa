"""The proposal gate: a new model replaces the proposals only when it is better on
held-out verified masks; training holds some out when a project has none."""

from __future__ import annotations

import threading

import pytest

from napari_specimask.core.demo.project import create_demo_project
from napari_specimask.core.io.images import read_mask
from napari_specimask.core.loop.gate import judge, train_and_gate
from napari_specimask.core.progress import run
from napari_specimask.core.store.registry import active_version, list_models
from napari_specimask.core.store.verdicts import Verdict, proposal_source
from napari_specimask.core.training.config import TrainConfig

FAST = dict(img_size=64, epochs=1, batch_size=2, encoder_weights="none", patience=0,
            encoder="resnet18")


@pytest.fixture
def project(tmp_path):
    """6 + 6 demo images; 3 pool images verified from the truth; val has true masks."""
    p = run(create_demo_project(tmp_path / "demo", n_herbarium=6, n_plankton=6))
    p.settings.selection.tta = 2  # the gate judges proposals as Annotate shows them
    for rec in p.images(role="pool")[:3]:
        p.save_mask(rec.id, read_mask(tmp_path / "demo" / "truth" / f"{rec.name}.png"), "hand")
    yield p
    p.close()


def test_verdict_needs_held_out_masks_and_a_strictly_higher_dice():
    assert Verdict("v002", "v001", 0.8, 0.7, 3).better
    assert not Verdict("v002", "v001", 0.7, 0.7, 3).better   # a tie keeps what is shown
    assert not Verdict("v002", "v001", 0.6, 0.7, 3).better
    assert not Verdict("v001", "cold start (otsu)", None, None, 0).better
    assert "not compared" in Verdict("v001", "cold start (otsu)", None, None, 0).reason
    assert Verdict("v002", "v001", 0.8, 0.7, 3).reason == (
        "v002 beat v001: mean Dice 0.800 against 0.700 on 3 held-out verified mask(s)")


def test_a_model_worse_than_cold_start_is_not_activated(project):
    """The measured failure: a one-step model replaced far better cold-start proposals."""
    cfg = TrainConfig.from_settings(project.settings, **FAST, max_steps=1)
    result = run(train_and_gate(project, cfg))
    v = result.verdict
    assert v.current == "cold start (background)" and v.images == len(
        project.images(role="val"))
    assert v.current_dice > v.candidate_dice and not result.activated
    assert active_version(project) is None
    assert proposal_source(project).startswith("proposals from cold start (background)")
    assert "did not beat" in proposal_source(project)
    stored = list_models(project)[0]["metrics"]["gate"]
    assert Verdict.from_dict(stored) == v   # kept with the version, for the GUI and CLI


def test_a_model_better_than_cold_start_is_activated_and_said_so(project):
    project.settings.coldstart.min_size = 10**9  # cold start proposes nothing here
    cfg = TrainConfig.from_settings(project.settings, **FAST, max_steps=2)
    result = run(train_and_gate(project, cfg))
    assert result.verdict.current_dice == 0.0 < result.verdict.candidate_dice
    assert result.activated and active_version(project) == result.trained.version
    assert proposal_source(project).startswith(
        f"proposals from model {result.trained.version} ({result.trained.version} beat "
        "cold start")


def test_a_later_model_is_judged_against_the_active_one(project):
    project.settings.coldstart.min_size = 10**9
    cfg = TrainConfig.from_settings(project.settings, **FAST, max_steps=2)
    first = run(train_and_gate(project, cfg)).trained.version
    second = run(train_and_gate(project, cfg, activate_when="never"))
    assert second.verdict.current == first and not second.activated
    again = run(judge(project, second.trained.version, first))
    assert again == second.verdict  # same held-out masks, same proposals, same numbers


def test_no_held_out_masks_keeps_the_current_proposals(project):
    project.set_role([r.id for r in project.images(role="val")], "test")
    cfg = TrainConfig.from_settings(project.settings, **FAST, max_steps=1, val_fraction=0.0,
                                    require_val=False)
    result = run(train_and_gate(project, cfg))
    assert result.verdict.images == 0 and not result.activated
    assert "not compared" in proposal_source(project)


def test_training_holds_out_verified_masks_when_there_is_no_val(project):
    project.set_role([r.id for r in project.images(role="val")], "test")
    labelled = project.image_ids(role="pool", status="labeled")
    cfg = TrainConfig.from_settings(project.settings, **FAST, max_steps=1)  # 0.2 of 3: 1
    result = run(train_and_gate(project, cfg))
    held = result.trained.metrics["held_out_for_val"]
    assert len(held) == 1 and set(held) <= set(labelled)
    assert project.image_ids(role="val") == held and result.verdict.images == 1
    # the next run finds val images and moves nothing more
    again = run(train_and_gate(project, cfg))
    assert again.trained.metrics["held_out_for_val"] == []


def test_one_verified_mask_and_cold_start_masks_hold_the_one_out(project):
    project.set_role([r.id for r in project.images(role="val")], "test")
    for image_id in project.image_ids(role="pool", status="labeled")[1:]:
        project.set_role([image_id], "test")
    (only,) = project.image_ids(role="pool", status="labeled")
    cfg = TrainConfig.from_settings(project.settings, **FAST, max_steps=1, use_cold_start=True)
    result = run(train_and_gate(project, cfg))
    assert result.trained.metrics["held_out_for_val"] == [only]
    assert result.verdict.images == 1


def test_too_few_verified_masks_to_hold_out_says_how(project):
    from napari_specimask.core.errors import SpecimaskError

    project.set_role([r.id for r in project.images(role="val")], "test")
    for image_id in project.image_ids(role="pool", status="labeled")[2:]:
        project.set_role([image_id], "test")
    cfg = TrainConfig.from_settings(project.settings, **FAST, max_steps=1)
    with pytest.raises(SpecimaskError, match="'auto validation split'.*'require validation"):
        run(train_and_gate(project, cfg))
    assert project.image_ids(role="val") == []   # nothing moved by a run that failed


def test_a_stopped_run_is_never_activated(project):
    project.settings.coldstart.min_size = 10**9
    stop = threading.Event()
    cfg = TrainConfig.from_settings(project.settings, **{**FAST, "epochs": 50})
    job = train_and_gate(project, cfg, "always", stop)
    seen = []

    def report(p):
        seen.append(p)
        if len(seen) == 2:
            stop.set()

    result = run(job, report)
    assert result.trained.status == "stopped" and result.verdict is None
    assert not result.activated and active_version(project) is None
