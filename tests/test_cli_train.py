"""`specimask train / models / activate / predict / lr-find` as a person types them."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from napari_specimask.cli import main
from napari_specimask.core.io.images import read_mask


@pytest.fixture(scope="module")
def proj(tmp_path_factory):
    work = tmp_path_factory.mktemp("cli")
    assert main(["demo", "--out", str(work / "demo"), "--no-viewer"]) == 0
    demo = work / "demo"
    p = work / "proj"
    assert main(["init", str(p), "--images", str(demo / "images" / "pool"),
                 "--masks", str(demo / "truth")]) == 0
    assert main(["import", str(p), str(demo / "images" / "val"), "--masks",
                 str(demo / "truth"), "--role", "val"]) == 0
    return p, demo


def test_train_models_activate_predict(proj, capsys, tmp_path):
    p, demo = proj
    args = ["--img-size", "64", "--epochs", "1", "--batch-size", "4",
            "--encoder-weights", "none", "--max-steps", "2"]
    capsys.readouterr()
    assert main(["train", str(p), *args, "--activate", "yes"]) == 0
    out = capsys.readouterr().out
    assert "model v001 (ready)" in out and "v001 now active" in out
    assert "against" in out and "cold start" in out  # judged even when activated anyway
    assert main(["train", str(p), *args, "--arch", "deeplabv3plus", "--activate", "no"]) == 0
    assert "active model stays v001" in capsys.readouterr().out
    assert main(["models", str(p), "--json"]) == 0
    models = json.loads(capsys.readouterr().out)
    assert [(m["version"], m["arch"], m["active"]) for m in models] == [
        ("v001", "unet", True), ("v002", "deeplabv3plus", False)]
    assert models[1]["parent"] == "v001"
    assert main(["activate", str(p), "v002"]) == 0
    assert main(["models", str(p)]) == 0
    table = capsys.readouterr().out
    assert "* v002" in table
    out_dir = tmp_path / "pred"
    assert main(["predict", str(p), "--images", str(demo / "images" / "test"),
                 "--out", str(out_dir)]) == 0
    assert "model v002: wrote" in capsys.readouterr().out
    name = sorted((demo / "images" / "test").iterdir())[0].stem
    assert read_mask(out_dir / f"{name}.png").shape == read_mask(demo / "truth" / f"{name}.png").shape
    assert main(["evaluate", str(out_dir), str(demo / "truth"), "--json"]) == 0
    assert 0 <= json.loads(capsys.readouterr().out)["mean_dice"] <= 1
    # 1-bit masks; a manifest of what made them; a re-run finishes only what is missing
    with Image.open(out_dir / f"{name}.png") as im:
        assert im.mode == "1"
    manifest = json.loads((out_dir / ".specimask-predict.json").read_text())
    assert manifest["model_version"] == "v002" and manifest["complete"]
    (out_dir / f"{name}.png").unlink()
    assert main(["predict", str(p), "--images", str(demo / "images" / "test"),
                 "--out", str(out_dir), "--workers", "0"]) == 0
    out = capsys.readouterr().out
    assert "resuming:" in out and "wrote 1 mask(s) to" in out  # masks only, by default
    assert "already there" in out
    assert main(["predict", str(p), "--images", str(demo / "images" / "test"),
                 "--out", str(tmp_path / "maps"), "--maps", "full"]) == 0
    assert "and probability map(s)" in capsys.readouterr().out
    assert (tmp_path / "maps" / "probability" / f"{name}.png").exists()
    assert not (out_dir / "probability").exists()
    assert main(["predict", str(p), "--out", str(tmp_path / "x"), "--maps", "big"]) == 1
    assert "--maps takes full, none or a size in pixels" in capsys.readouterr().err


def test_train_says_why_a_model_did_not_replace_the_proposals(tmp_path, capsys):
    """A one-step model against the demo's cold start on the val images: it loses, stays
    inactive, and the line says by how much on how many held-out masks."""
    work = tmp_path
    from napari_specimask.core.demo.project import create_demo_project
    from napari_specimask.core.progress import run

    project = run(create_demo_project(work / "d", n_herbarium=4, n_plankton=4))
    for rec in project.images(role="pool")[:3]:
        project.save_mask(rec.id, read_mask(work / "d" / "truth" / f"{rec.name}.png"), "hand")
    project.close()
    capsys.readouterr()
    assert main(["train", str(work / "d"), "--img-size", "64", "--epochs", "1",
                 "--batch-size", "2", "--max-steps", "1", "--encoder", "resnet18"]) == 0
    out = capsys.readouterr().out
    assert "v001 did not beat cold start (background): mean Dice" in out
    assert "held-out verified mask(s); v001 not activated" in out
    assert "active model stays none (cold-start proposals)" in out
    assert main(["models", str(work / "d")]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith(
        "proposals from cold start (background) (v001 did not beat cold start")


def test_train_errors_are_one_line(proj, capsys, tmp_path):
    p, _ = proj
    assert main(["activate", str(p), "v404"]) == 1
    assert "no model version 'v404'" in capsys.readouterr().err
    assert main(["init", str(tmp_path / "empty"), "--images", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["train", str(tmp_path / "empty"), "--encoder-weights", "none"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "at least 2" in err[0]
    assert main(["predict", str(tmp_path / "empty")]) == 1
    assert "no trained model yet" in capsys.readouterr().err


def test_save_defaults_writes_toml(proj, capsys):
    """Also: a flag under its former name (--use-pseudo) still works, with a note."""
    p, _ = proj
    assert main(["train", str(p), "--img-size", "64", "--epochs", "1", "--encoder-weights",
                 "none", "--max-steps", "1", "--loss", "dice", "--augment", "affine",
                 "--use-pseudo", "--save-defaults", "--activate", "no"]) == 0
    assert "note: --use-pseudo is now --use-cold-start" in capsys.readouterr().err
    text = (p / "specimask.toml").read_text()
    assert 'loss = "dice"' in text and 'augment = "affine"' in text and "img_size = 64" in text
    assert "use_cold_start = true" in text and "pseudo" not in text


def test_lr_find_saves_plot(proj, capsys, tmp_path):
    p, _ = proj
    plot = tmp_path / "lr.png"
    assert main(["lr-find", str(p), "--img-size", "64", "--batch-size", "4",
                 "--encoder-weights", "none", "--num-training", "8", "--out", str(plot)]) == 0
    assert "suggested learning rate" in capsys.readouterr().out
    assert plot.stat().st_size > 1000


def test_full_disk_names_the_file_and_marks_the_version_failed(proj, capsys, monkeypatch):
    """A write that fails with ENOSPC (it names no file) is reported with the file it was
    writing and what to do, leaves no temp file, and the version is 'failed', not stuck
    as 'training'."""
    import errno

    from napari_specimask.core.model import weights
    from napari_specimask.core.store import registry

    def disk_full(path, tensors):
        with open(path, "wb") as fh:
            fh.write(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    real_write_bytes = registry.atomic_write_bytes

    def metrics_too(target, data):  # the failure's own bookkeeping meets the full disk
        if target.name == "metrics.json":
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        real_write_bytes(target, data)

    monkeypatch.setattr(weights, "write_safetensors", disk_full)
    monkeypatch.setattr(registry, "atomic_write_bytes", metrics_too)
    p, _ = proj
    capsys.readouterr()
    assert main(["train", str(p), "--img-size", "64", "--epochs", "1", "--encoder-weights",
                 "none", "--max-steps", "1", "--activate", "no"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "weights.safetensors: No space left on device" in err[0]
    assert "free some space" in err[0]
    assert main(["models", str(p), "--json"]) == 0
    last = json.loads(capsys.readouterr().out)[-1]
    assert last["status"] == "failed"
    folder = p / "models" / last["version"]
    assert not list(folder.glob(".specimask-tmp-*")) and not (folder / "weights.safetensors").exists()


def test_models_remove_and_keep_best(tmp_path, capsys, registered_versions, monkeypatch):
    from napari_specimask.core.store.project import Project

    p = tmp_path / "p"
    with Project.create(p) as project:
        registered_versions(project, [0.5, 0.9, 0.7, 0.6])
    assert main(["activate", str(p), "v001"]) == 0
    capsys.readouterr()
    assert main(["models", str(p)]) == 0
    table = capsys.readouterr().out
    assert "disk MB" in table and "* v001" in table
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["models", str(p), "--remove", "v003"]) == 1
    assert "add --yes" in capsys.readouterr().err
    assert main(["models", str(p), "--keep-best", "1", "--dry-run"]) == 0
    assert "would remove the weights and cached predictions of v003, v004" in \
        capsys.readouterr().out
    assert (p / "models" / "v003" / "weights.safetensors").exists()
    assert main(["models", str(p), "--remove", "v001", "--yes"]) == 1
    assert "v001 is the active model" in capsys.readouterr().err
    assert main(["models", str(p), "--keep-best", "1", "--yes"]) == 0
    assert "removed 2 version(s), freed" in capsys.readouterr().out
    assert main(["models", str(p), "--json"]) == 0
    models = json.loads(capsys.readouterr().out)
    assert [m["version"] for m in models if m["removed"]] == ["v003", "v004"]
    assert main(["models", str(p)]) == 0
    assert capsys.readouterr().out.count("removed") == 2
    assert main(["activate", str(p), "v003"]) == 1
    assert "were removed" in capsys.readouterr().err
    assert main(["models", str(p), "--yes"]) == 1
    assert "--yes: only with --remove or --keep-best" in capsys.readouterr().err
    assert main(["models", str(p), "--keep-best", "-1", "--yes"]) == 1
    assert "--keep-best -1: give how many" in capsys.readouterr().err


def test_models_remove_asks_on_a_terminal(tmp_path, capsys, registered_versions, monkeypatch):
    from napari_specimask.core.store.project import Project

    p = tmp_path / "p"
    with Project.create(p) as project:
        registered_versions(project, [0.5, 0.9])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(["", EOFError, "y"])

    def answer(prompt):
        a = next(answers)
        if a is EOFError:
            raise EOFError
        return a

    monkeypatch.setattr("builtins.input", answer)
    assert main(["models", str(p), "--remove", "v002"]) == 1  # Enter means no
    assert "nothing removed" in capsys.readouterr().out
    assert main(["models", str(p), "--remove", "v002"]) == 1  # so does Ctrl-D
    assert "nothing removed" in capsys.readouterr().out
    assert main(["models", str(p), "--remove", "v002"]) == 0
    assert not (p / "models" / "v002" / "weights.safetensors").exists()


def _other_value(o):
    """A value unlike the option's default, as typed after its flag (None: a switch)."""
    if o.kind is bool:
        return None, not o.default
    if o.kind is list:
        pick = [o.option.choices[-1]] if o.default != [o.option.choices[-1]] \
            else [o.option.choices[0]]
        return ",".join(pick), pick
    if o.option.choices:
        pick = next(c for c in o.option.choices if c != o.default)
        return pick, pick
    if o.kind is str:
        return "other", "other"
    value = o.kind((o.default or 0) + 2)
    return str(value), value


def test_every_training_option_has_a_flag_that_reaches_the_config(tmp_path):
    """The flags are generated from the settings' fields: a new field in ModelSettings,
    TrainSettings or TrainConfig gets one. Unset, a flag leaves specimask.toml in charge;
    set, its value reaches the run's config as the base the schedule adds to."""
    from dataclasses import fields

    from napari_specimask.cli import build_parser
    from napari_specimask.cli._options import TRAIN_OPTIONS
    from napari_specimask.cli._train import config_from_args
    from napari_specimask.core.settings import ModelSettings, TrainSettings
    from napari_specimask.core.store.project import Project
    from napari_specimask.core.training.config import TrainConfig

    names = [o.name for o in TRAIN_OPTIONS]
    assert names == [f.name for f in fields(TrainConfig)]
    assert {f.name for c in (ModelSettings, TrainSettings) for f in fields(c)} < set(names)
    assert all(o.option.help for o in TRAIN_OPTIONS)
    parser = build_parser()
    for command in ("train", "lr-find", "round", "grid"):
        args = parser.parse_args([command, "p"])
        assert [n for n in names if getattr(args, n) is not None] == [], command
    argv, expected = ["train", "p"], {}
    for o in TRAIN_OPTIONS:
        text, expected[o.name] = _other_value(o)
        argv += [o.flag] if text is None else [o.flag, text]
    args = parser.parse_args(argv)
    with Project.create(tmp_path / "p") as project:
        assert config_from_args(project, parser.parse_args(["train", "p"])) == \
            TrainConfig.from_settings(project.settings, iteration=0)
        cfg = config_from_args(project, args)
        base = config_from_args(project, args, scheduled=False)
    # given values are the base, and the schedule of the given iteration adds to them, as
    # the Train form's do (old code: a flag overrode the scheduled value)
    n = expected["iteration"]
    assert {k: getattr(cfg, k) for k in names} == {
        **expected, "img_size": expected["img_size"] + expected["px_per_iteration"] * n,
        "epochs": expected["epochs"] + expected["epochs_per_iteration"] * n}
    assert {k: getattr(base, k) for k in names} == {**expected, "iteration": None}


def test_train_says_the_schedule_it_adds_before_it_runs(proj, capsys):
    p, _demo = proj
    capsys.readouterr()
    assert main(["train", str(p), "--img-size", "32", "--epochs", "1", "--batch-size", "4",
                 "--encoder-weights", "none", "--max-steps", "1", "--iteration", "2",
                 "--px-per-iteration", "16", "--activate", "no"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "iteration 2 schedule: 32 + 2 x 16 px = 64 px"
