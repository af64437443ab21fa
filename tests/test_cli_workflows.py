"""`specimask round` and `specimask grid`, and the options they rest on (fine-tuning from
a version, cold-start masks of some roles only), as a person types them."""

from __future__ import annotations

import csv
import json

import pytest

from napari_specimask.cli import main
from napari_specimask.core.store.project import Project
from napari_specimask.core.training.samples import training_samples

FAST = ["--img-size", "64", "--epochs", "1", "--batch-size", "4", "--encoder-weights", "none",
        "--max-steps", "2", "--encoder", "resnet18"]


@pytest.fixture
def transfer(tmp_path):
    """A clean source set with cold-start masks, a target pool without masks, val truth."""
    assert main(["demo", "--out", str(tmp_path / "demo"), "--no-viewer", "--small"]) == 0
    demo, p = tmp_path / "demo", tmp_path / "proj"
    assert main(["init", str(p), "--images", str(demo / "images" / "test"),
                 "--role", "source"]) == 0
    assert main(["import", str(p), str(demo / "images" / "pool")]) == 0
    assert main(["import", str(p), str(demo / "images" / "val"), "--masks",
                 str(demo / "truth"), "--role", "val"]) == 0
    assert main(["propose", str(p), "--method", "kmeans"]) == 0
    return p


def test_cold_start_masks_of_the_source_role_only(transfer):
    with Project.open(transfer) as project:
        both = training_samples(project, use_cold_start=True)
        source = training_samples(project, use_cold_start=True, cold_start_roles=("source",))
        n_source = len(project.images(role="source"))
    assert len(source) == n_source and len(both) > n_source
    assert {s.kind for s in source} == {"coldstart"}


def test_a_round_trains_then_selects(transfer, capsys):
    capsys.readouterr()
    assert main(["round", str(transfer), *FAST, "--use-cold-start", "--cold-start-roles", "source",
                 "--augment", "specialized", "--select-strategy", "stochastic",
                 "--select-batch-size", "2", "--n-batches", "3", "--tta", "2", "--json",
                 "--activate", "always"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["trained"] == "v001" and out["activated"] and out["status"] == "ready"
    # judged on the 2 val masks against the kmeans proposals, even when activated anyway
    assert out["previous"] == "cold start (kmeans)" and out["held_out_dice"] is not None
    sel = out["selection"]
    assert sel["model_version"] == "v001" and len(sel["chosen"]) == 2
    assert all(c["proposal"] == "v001" and c["score"] is not None for c in sel["chosen"])
    with Project.open(transfer) as project:
        assert len(project.images(status="queued")) == 2
        cfg = json.loads(project.store.read_one(
            "SELECT config FROM models WHERE version='v001'")[0])["extra"]["train"]
    assert cfg["cold_start_roles"] == ["source"] and cfg["augment"] == "specialized"

    # the next round fine-tunes the active model; the schedule grows with the iteration
    capsys.readouterr()
    assert main(["round", str(transfer), *FAST, "--use-cold-start", "--init-from", "active",
                 "--activate", "always", "--select-batch-size", "2", "--tta", "2"]) == 0
    text = capsys.readouterr().out
    assert "trained v002" in text and "activated" in text and "iteration 2" in text
    with Project.open(transfer) as project:
        cfg = json.loads(project.store.read_one(
            "SELECT config FROM models WHERE version='v002'")[0])["extra"]["train"]
    assert cfg["init_from"] == "v001"


def test_init_from_needs_the_same_architecture(transfer, capsys):
    assert main(["train", str(transfer), *FAST, "--use-cold-start"]) == 0
    capsys.readouterr()
    assert main(["train", str(transfer), *FAST, "--use-cold-start", "--init-from", "v001",
                 "--arch", "deeplabv3plus"]) == 1
    err = capsys.readouterr().err
    assert "v001: that model is unet/resnet18" in err and "--arch unet" in err


def test_grid_trains_each_combination_and_ranks_on_val(transfer, capsys, tmp_path):
    capsys.readouterr()
    out_dir = tmp_path / "grid"
    assert main(["grid", str(transfer), *FAST, "--use-cold-start",
                 "--arch", "unet,deeplabv3plus", "--lr", "1e-3,1e-4",
                 "--freeze-encoder", "no", "--out", str(out_dir), "--activate-best"]) == 0
    text = capsys.readouterr().out
    assert "| rank | arch | lr | version | status | val_dice |" in text  # what varied
    rows = list(csv.DictReader((out_dir / "results.csv").open()))
    assert len(rows) == 4
    assert {(r["arch"], float(r["lr"])) for r in rows} == {
        (a, lr) for a in ("unet", "deeplabv3plus") for lr in (1e-3, 1e-4)}
    dice = [float(r["val_dice"]) for r in rows]
    assert dice == sorted(dice, reverse=True) and all(0 <= d <= 1 for d in dice)
    assert f"active model: {rows[0]['version']}" in text
    with Project.open(transfer) as project:
        archs = dict(project.store.read("SELECT version, arch FROM models"))
        assert archs[rows[0]["version"]] == rows[0]["arch"]


@pytest.mark.parametrize("args, message", [
    (["--lr", "fast"], "--lr: 'fast' is not a valid float"),
    (["--arch", "unet,vit"], "--arch: unknown value 'vit'"),
    (["--freeze-encoder", "maybe"], "--freeze-encoder: 'maybe' is not yes or no"),
])
def test_grid_errors_are_one_line(transfer, capsys, args, message):
    capsys.readouterr()
    assert main(["grid", str(transfer), *args]) == 1
    assert message in capsys.readouterr().err


def test_grid_needs_val_images(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--no-viewer", "--small"]) == 0
    p = tmp_path / "p"
    assert main(["init", str(p), "--images", str(tmp_path / "demo" / "images" / "pool"),
                 "--masks", str(tmp_path / "demo" / "truth")]) == 0
    capsys.readouterr()
    assert main(["grid", str(p), "--lr", "1e-3"]) == 1
    assert "ranks on val images and there are none" in capsys.readouterr().err


def test_split_holds_out_labelled_images(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--no-viewer", "--small"]) == 0
    p = tmp_path / "p"
    assert main(["init", str(p), "--images", str(tmp_path / "demo" / "images"),
                 "--masks", str(tmp_path / "demo" / "truth"), "--role", "source"]) == 0
    capsys.readouterr()
    assert main(["split", str(p), "--from", "source", "--val", "0.25", "--test", "0.1"]) == 0
    assert "3 image(s) to val, 1 to test, 8 labelled source" in capsys.readouterr().out
    with Project.open(p) as project:
        roles = [r.role for r in project.images()]
    assert roles.count("val") == 3 and roles.count("test") == 1
    assert main(["split", str(p), "--from", "source", "--val", "0.9", "--test", "0.05"]) == 1
    assert "too few to hold out" in capsys.readouterr().err


def test_bad_options_are_not_stored_as_defaults(transfer, capsys):
    before = (transfer / "specimask.toml").read_text()
    assert main(["train", str(transfer), *FAST, "--cold-start-roles", "target",
                 "--save-defaults"]) == 1
    assert "unknown cold start role(s) target" in capsys.readouterr().err
    assert main(["round", str(transfer), *FAST, "--logger", "tb", "--save-defaults"]) == 1
    assert "unknown logger(s) tb" in capsys.readouterr().err
    assert (transfer / "specimask.toml").read_text() == before


def test_a_failing_combination_does_not_end_the_search(transfer, capsys, tmp_path):
    assert main(["train", str(transfer), *FAST, "--use-cold-start"]) == 0  # v001, a unet
    capsys.readouterr()
    assert main(["grid", str(transfer), *FAST, "--use-cold-start", "--init-from", "v001",
                 "--arch", "deeplabv3plus,unet", "--out", str(tmp_path / "g"), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["arch"] for r in rows] == ["unet", "deeplabv3plus"]  # the failure ranks last
    assert rows[0]["status"] == "ready" and rows[1]["status"].startswith("failed: --init-from")
