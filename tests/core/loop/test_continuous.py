"""Continuous training: a short gated run after every few saves, from the active model,
and the queued images nobody has open get the new model's proposals."""

from __future__ import annotations

import threading

import pytest

from napari_specimask.core.active.queue import select_next
from napari_specimask.core.demo.project import create_demo_project
from napari_specimask.core.io.images import read_mask
from napari_specimask.core.loop import continuous
from napari_specimask.core.progress import run
from napari_specimask.core.store.iterations import latest_iteration_item
from napari_specimask.core.store.leases import new_holder, take_lease
from napari_specimask.core.store.registry import active_version, list_models


@pytest.fixture
def project(tmp_path):
    """Demo images; fast training settings; cold start that proposes nothing, so any
    trained model beats it and is activated."""
    p = run(create_demo_project(tmp_path / "demo", n_herbarium=6, n_plankton=6))
    p.settings.model.img_size, p.settings.model.encoder = 64, "resnet18"
    p.settings.model.encoder_weights = "none"
    p.settings.train.batch_size, p.settings.train.samples_per_epoch = 2, 4
    p.settings.continuous.every, p.settings.continuous.epochs = 2, 1
    p.settings.selection.tta = 2
    p.settings.coldstart.min_size = 10**9
    p.truth = tmp_path / "demo" / "truth"
    yield p
    p.close()


def _save(project, record):
    from napari_specimask.core.active.annotations import submit_mask

    submit_mask(project, record.id, read_mask(project.truth / f"{record.name}.png"))


def test_a_run_is_due_after_every_n_saves_counted_from_the_last_run(project):
    pool = project.images(role="pool")
    _save(project, pool[0])
    assert continuous.new_saves(project) == 1 and not continuous.due(project)
    _save(project, pool[0])  # the same image again: still one new mask
    assert continuous.new_saves(project) == 1
    _save(project, pool[1])
    assert continuous.due(project)
    round_ = run(continuous.fine_tune_round(project))
    assert round_.gated.trained.status == "ready"
    assert continuous.new_saves(project) == 0 and not continuous.due(project)  # seen


def test_an_activated_run_gives_the_unopened_queue_its_proposals(project):
    pool = project.images(role="pool")
    for rec in pool[:2]:
        _save(project, rec)
    queued = [i for i, _ in run(select_next(project, "random", 3)).chosen]
    open_one = queued[0]  # someone has this one on screen
    take_lease(project, open_one, new_holder("ann"), "ann")
    round_ = run(continuous.fine_tune_round(project))
    version = round_.gated.trained.version
    assert round_.gated.activated and active_version(project) == version
    assert round_.refreshed == sorted(queued[1:])
    assert latest_iteration_item(project, open_one)["proposal"] == "coldstart"  # untouched
    for i in queued[1:]:
        assert latest_iteration_item(project, i)["proposal"] == version
    assert "new proposals for 2 queued image(s)" in round_.summary
    # the next short run fine-tunes the active model, for the configured epochs
    for rec in pool[2:4]:
        _save(project, rec)
    assert continuous.start_weights(project) == "active"
    cfg = continuous.fine_tune_config(project)
    assert (cfg.epochs, cfg.init_from, cfg.patience) == (1, "active", 0)
    nxt = run(continuous.fine_tune_round(project)).gated.trained.version
    model = next(m for m in list_models(project) if m["version"] == nxt)
    assert model["parent"] == version and model["config"]["extra"]["train"]["init_from"] == version


def test_before_any_model_is_active_short_runs_add_up(project):
    project.settings.coldstart.min_size = 30  # cold start is good again: runs lose to it
    project.settings.train.samples_per_epoch = 2
    pool = project.images(role="pool")
    for rec in pool[:2]:
        _save(project, rec)
    first = run(continuous.fine_tune_round(project))
    assert not first.gated.activated and first.refreshed == []
    assert continuous.start_weights(project) == first.gated.trained.version
    project.settings.model.encoder = "resnet34"  # another network: not a starting point
    assert continuous.start_weights(project) == ""


def test_watch_runs_when_due_and_ends_on_stop(project):
    pool = project.images(role="pool")
    for rec in pool[:2]:
        _save(project, rec)
    stop = threading.Event()
    seen = []
    rounds = run(continuous.watch(project, stop, poll=0.01,
                                  on_round=lambda r: (seen.append(r), stop.set())))
    assert len(rounds) == 1 and seen == rounds
    stop.clear()
    timer = threading.Timer(0.2, stop.set)  # nothing due: it waits until stopped
    timer.start()
    assert run(continuous.watch(project, stop, poll=0.01)) == []


def test_no_run_is_due_until_it_can_be_judged(project):
    """Measured on real sheets: with no val images, a run after 2 saves failed (too few
    verified masks to hold one out) and the mode turned itself off."""
    project.set_role(project.image_ids(role="val"), "test")
    pool = project.images(role="pool")
    for rec in pool[:2]:
        _save(project, rec)
    assert continuous.new_saves(project) == 2 and not continuous.due(project)
    assert "once a model can be trained and judged" in continuous.waiting_for(project)
    _save(project, pool[2])
    assert continuous.due(project)
    round_ = run(continuous.fine_tune_round(project))
    assert round_.gated.verdict.images == 1  # one held out, and judged on


def test_with_val_images_a_run_waits_for_two_masks_to_train_on(project):
    """Measured with every = 1: a run after the first save failed (one training image)."""
    project.settings.continuous.every = 1
    pool = project.images(role="pool")
    _save(project, pool[0])
    assert continuous.new_saves(project) == 1 and not continuous.due(project)
    _save(project, pool[1])
    assert continuous.due(project)
