"""Training on Lightning, checkpoints, predict: small and fast (64 px, CPU, few steps)."""

from __future__ import annotations

import json
import shutil
import threading
from collections import Counter

import numpy as np
import pytest

from napari_specimask.core.demo.project import create_demo_project
from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.inference.predict import predict_to_folder
from napari_specimask.core.io.images import read_mask
from napari_specimask.core.model.weights import load_model, load_model_folder
from napari_specimask.core.progress import run
from napari_specimask.core.store.project import Project
from napari_specimask.core.store.registry import activate, list_models
from napari_specimask.core.training.config import TrainConfig
from napari_specimask.core.training.fit import train, train_job
from napari_specimask.core.training.module import ProjectDataModule
from napari_specimask.core.training.samples import training_samples, validation_samples

FAST = dict(img_size=64, epochs=1, batch_size=2, encoder_weights="none", patience=0)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory):
    """4 + 4 demo images: pool images labelled from the truth, as a person would."""
    root = tmp_path_factory.mktemp("demo") / "proj"
    project = run(create_demo_project(root, n_herbarium=4, n_plankton=4))
    for rec in project.images(role="pool"):
        project.save_mask(rec.id, read_mask(root / "truth" / f"{rec.name}.png"), "hand")
    project.close()
    return root


@pytest.fixture
def project(demo_root, tmp_path):
    root = tmp_path / "p"
    shutil.copytree(demo_root, root)
    p = Project.open(root)
    yield p
    p.close()


def test_train_checkpoint_reload_predict_original_sizes(project, tmp_path):
    cfg = TrainConfig.from_settings(project.settings, **FAST, max_steps=2)
    reports = []
    result = train(project, cfg, on_progress=reports.append)
    assert result.status == "ready" and result.metrics["steps"] == 2
    assert reports[-1].stage == "done" and any(r.train_loss is not None for r in reports)
    folder = project.root / "models" / result.version
    assert {"weights.safetensors", "config.json", "metrics.json", "metrics.csv"} <= {
        p.name for p in folder.iterdir()}
    config = json.loads((folder / "config.json").read_text())
    assert config["arch"] == "unet" and config["img_size"] == 64 and config["loss"] == "tversky"
    (row,) = list_models(project)
    assert row["status"] == "ready" and row["parent"] is None
    assert sorted(row["train_image_ids"]) == sorted(r.id for r in project.images(role="pool"))
    model, cfg2, version = load_model(project, result.version)
    assert version == result.version and cfg2.img_size == 64
    activate(project, result.version)
    report = run(predict_to_folder(project, tmp_path / "pred", maps="full"))
    assert len(report.written) == len(project.images())
    for rec in project.images():
        mask = read_mask(tmp_path / "pred" / f"{rec.name}.png")
        assert mask.shape == (rec.height, rec.width)
        assert (tmp_path / "pred" / "probability" / f"{rec.name}.png").exists()


def test_weighted_sampler_draws_hand_images_hand_weight_times(project):
    # two pool images verified by hand (target), the others become source images
    pool = project.images(role="pool")
    project.set_role([r.id for r in pool[2:]], "source")
    cfg = TrainConfig.from_settings(project.settings, **FAST, hand_weight=10)
    data = ProjectDataModule(project, cfg)
    kinds = [s.kind for s in data.samples]
    assert kinds.count("target") == 2 and kinds.count("source") == 2
    draws = Counter()
    sampler = data.train_dataloader().sampler  # its generator advances epoch after epoch
    for _ in range(3000):
        draws.update(data.samples[i].kind for i in sampler)
    ratio = (draws["target"] / 2) / (draws["source"] / 2)
    assert 8.5 < ratio < 11.5


def test_stop_event_ends_within_one_step_with_usable_checkpoint(project):
    stop = threading.Event()
    steps_seen = []

    def on_progress(p):
        if p.stage == "train":
            steps_seen.append(p.step)
            stop.set()  # the person presses Stop after the first step

    cfg = TrainConfig.from_settings(project.settings, **{**FAST, "epochs": 50})
    result = train(project, cfg, on_progress=on_progress, stop=stop)
    assert result.status == "stopped" and result.metrics["steps"] == 1
    assert steps_seen == [1]
    model, config, _ = load_model(project, result.version)  # usable
    activate(project, result.version)  # and may be made active


def test_train_job_yields_progress_and_returns_result(project):
    job = train_job(project, TrainConfig.from_settings(project.settings, **FAST, max_steps=1))
    reports = []
    result = run(job, reports.append)
    assert result.version == "v001" and reports[-1].stage == "done"


def test_refuses_without_validation_unless_asked(project):
    project.set_role([r.id for r in project.images(role="val")], "test")
    cfg = TrainConfig.from_settings(project.settings, **FAST, max_steps=1, val_fraction=0.0)
    with pytest.raises(SpecimaskError, match="no validation images.*--no-val"):
        train(project, cfg)
    cfg.require_val = False
    result = train(project, cfg)
    assert result.status == "ready" and result.metrics["best_val_dice"] is None


def test_val_and_test_images_never_reach_training(project):
    # even with verified masks and cold-start proposals everywhere
    from napari_specimask.core.coldstart.methods import ColdStart
    from napari_specimask.core.coldstart.proposals import propose_masks

    run(propose_masks(project, ColdStart("otsu"), include_labeled=True))
    ids = {s.image_id for s in training_samples(project, use_cold_start=True)}
    held_out = {r.id for r in project.images(role="val") + project.images(role="test")}
    assert ids and not ids & held_out
    assert {s.image_id for s in validation_samples(project)} == {
        r.id for r in project.images(role="val")}


def test_too_few_training_images(project):
    project.set_role([r.id for r in project.images(role="pool")], "test")
    with pytest.raises(SpecimaskError, match="at least 2"):
        train(project, TrainConfig.from_settings(project.settings, **FAST))


def test_per_iteration_schedule(project):
    project.settings.train.epochs_per_iteration = 2
    project.settings.train.px_per_iteration = 16
    cfg = TrainConfig.from_settings(project.settings, iteration=3)
    assert cfg.epochs == project.settings.train.epochs + 6
    assert cfg.img_size == project.settings.model.img_size + 48


def test_two_stage_keeps_encoder_frozen_in_stage_one(project):
    import torch

    cfg = TrainConfig.from_settings(project.settings, **FAST, two_stage=True, stage1_epochs=1)
    torch.manual_seed(cfg.seed)
    result = train(project, cfg)
    model, _, _ = load_model(project, result.version)
    import lightning as L

    from napari_specimask.core.model.factory import create_model

    L.seed_everything(cfg.seed, verbose=False)
    init = create_model("unet", "resnet34", None)
    assert torch.equal(model.encoder.conv1.weight, init.encoder.conv1.weight)
    assert not torch.equal(model.decoder.blocks[0].conv1[0].weight,
                           init.decoder.blocks[0].conv1[0].weight)


def test_tampered_or_foreign_checkpoints_are_refused(project):
    result = train(project, TrainConfig.from_settings(project.settings, **FAST, max_steps=1))
    folder = project.root / "models" / result.version
    cfg_path = folder / "config.json"
    config = json.loads(cfg_path.read_text())
    config["arch"] = "deeplabv3plus"  # another architecture, weights untouched
    cfg_path.write_text(json.dumps(config))
    with pytest.raises(SpecimaskError, match="do not fit a deeplabv3plus"):
        load_model_folder(folder)
    config["arch"] = "unet"
    cfg_path.write_text(json.dumps(config))
    weights = folder / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(SpecimaskError, match="sha256 differs"):
        load_model_folder(folder)
    with pytest.raises(SpecimaskError, match="no model version 'v999'"):
        activate(project, "v999")


def test_loggers_csv_always_tensorboard_on_request(project):
    cfg = TrainConfig.from_settings(project.settings, **FAST, max_steps=1,
                                    loggers=["csv", "tensorboard"])
    result = train(project, cfg)
    folder = project.root / "models" / result.version
    assert (folder / "metrics.csv").exists()
    assert list((folder / "tensorboard").rglob("events.out.tfevents.*"))
    with pytest.raises(SpecimaskError, match="unknown logger"):
        train(project, TrainConfig.from_settings(project.settings, **FAST, loggers=["mlflowx"]))
    assert len(list_models(project)) == 1  # refused before a version was made


def test_prediction_of_a_large_scan_at_full_size(project, tmp_path):
    from napari_specimask.core.io.images import write_image

    result = train(project, TrainConfig.from_settings(project.settings, **FAST, max_steps=1))
    big = np.full((3000, 2000, 3), 230, np.uint8)
    big[500:2500, 600:1400] = (40, 90, 30)
    write_image(tmp_path / "scans" / "sheet.jpg", big)
    report = run(predict_to_folder(project, tmp_path / "out", result.version,
                                   images_dir=tmp_path / "scans"))
    assert report.written == ["sheet"]
    assert read_mask(tmp_path / "out" / "sheet.png").shape == (3000, 2000)


def test_training_is_reproducible_with_a_seed(project):
    cfg = TrainConfig.from_settings(project.settings, **FAST, max_steps=3, seed=7)
    a, b = train(project, cfg), train(project, cfg)
    wa = load_model(project, a.version)[0].state_dict()
    wb = load_model(project, b.version)[0].state_dict()
    assert all(np.allclose(wa[k].numpy(), wb[k].numpy(), atol=1e-5) for k in wa)


def test_weights_file_is_standard_safetensors(tmp_path):
    import torch
    from safetensors.torch import load_file

    from napari_specimask.core.model.weights import write_safetensors

    tensors = {"a": torch.randn(3, 5), "b": torch.arange(7), "c": torch.randn(2).bfloat16(),
               "d": torch.tensor([True, False]), "e": torch.zeros(0, 4)}
    write_safetensors(tmp_path / "w.safetensors", tensors)
    back = load_file(str(tmp_path / "w.safetensors"))
    assert set(back) == set(tensors)
    for k, v in tensors.items():
        assert back[k].dtype == v.dtype and torch.equal(back[k], v)


def test_shared_model_is_loaded_once_per_version_and_reloaded_when_changed(project):
    from napari_specimask.core.model.cache import shared_model
    from napari_specimask.core.model.weights import WEIGHTS_FILE

    cfg = TrainConfig.from_settings(project.settings, **FAST, max_steps=1)
    version = train(project, cfg).version
    first, config, name = shared_model(project, version)
    again, _, _ = shared_model(project, version)
    assert name == version and again is first and config.arch == cfg.arch
    weights = project.root / "models" / version / WEIGHTS_FILE
    weights.touch()  # rewritten on disk: loaded again
    assert shared_model(project, version)[0] is not first


def test_only_a_run_from_scratch_says_from_scratch(project, monkeypatch):
    """Old code: "training resnet34 from scratch" also for fine-tuning and continuous runs
    that start from a trained version's weights."""
    from napari_specimask.core.model import factory

    monkeypatch.setattr(factory, "_reachable", lambda where: False)  # offline, no cache
    monkeypatch.setattr(factory, "_cached", lambda *a, **k: False)
    scratch = train(project, TrainConfig.from_settings(
        project.settings, **{**FAST, "encoder_weights": "auto"}, max_steps=1))
    assert "from scratch" in scratch.metrics["weights_note"]
    tuned = train(project, TrainConfig.from_settings(
        project.settings, **{**FAST, "encoder_weights": "auto"}, max_steps=1,
        init_from=scratch.version))
    assert tuned.metrics["weights_note"] is None
    config = json.loads((project.root / "models" / tuned.version / "config.json").read_text())
    assert config["extra"]["train"]["init_from"] == scratch.version
    assert config["encoder_weights"] == "none"  # what the start itself was trained from
