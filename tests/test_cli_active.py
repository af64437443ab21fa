"""`specimask score / select / iterations / annotate / predict --tta / simulate`."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from napari_specimask.cli import main
from napari_specimask.core.io.images import read_mask, write_mask_png


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The small demo project with 4 of its 8 pool images verified, a tiny model trained."""
    work = tmp_path_factory.mktemp("al")
    demo = work / "demo"
    assert main(["demo", "--out", str(demo), "--no-viewer", "--small"]) == 0
    from napari_specimask.core.store.project import Project

    with Project.open(demo) as p:
        for rec in p.images(role="pool")[:4]:
            p.save_mask(rec.id, read_mask(demo / "truth" / f"{rec.name}.png"), "hand")
    assert main(["train", str(demo), "--img-size", "64", "--epochs", "1", "--max-steps", "2",
                 "--batch-size", "4", "--activate", "yes"]) == 0
    return demo


def test_score_select_annotate_iterations(trained, capsys, tmp_path):
    demo = trained
    capsys.readouterr()
    assert main(["score", str(demo), "--tta", "4", "--measure", "variance", "--json"]) == 0
    scored = json.loads(capsys.readouterr().out)
    n_pool = len(scored["images"])
    assert scored["computed"] == n_pool > 0 and scored["views"] == "d4"
    assert all(0 <= d["score"] <= 1 for d in scored["images"])
    assert main(["score", str(demo), "--tta", "4", "--measure", "variance"]) == 0
    assert f"0 computed, {n_pool} cached" in capsys.readouterr().out  # the cache works

    assert main(["select", str(demo), "--strategy", "stochastic", "--batch-size", "3",
                 "--n-batches", "2", "--seed", "5", "--tta", "4", "--json"]) == 0
    sel = json.loads(capsys.readouterr().out)
    assert sel["iteration"] == 1 and len(sel["chosen"]) == 3 and sel["n_batches"] == 2
    assert all(c["proposal"] == "v001" for c in sel["chosen"])

    # a person corrects the exported proposals in another program and brings them back
    assert main(["export", str(demo), "--which", "proposal", "--status", "queued",
                 "--out", str(tmp_path / "todo")]) == 0
    files = sorted((tmp_path / "todo").glob("*.png"))
    assert len(files) == 3
    edited = read_mask(files[1])
    edited[:5, :5] = ~edited[:5, :5]
    write_mask_png(files[1], edited)
    capsys.readouterr()
    assert main(["annotate", str(demo), "--masks", str(tmp_path / "todo"),
                 "--seconds", "30"]) == 0
    assert "2 accepted as proposed, 1 corrected" in capsys.readouterr().out
    assert main(["iterations", str(demo), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["selected"], row["annotated"], row["corrected"], row["accepted"]) == (3, 3, 1, 2)
    assert row["mean_seconds"] == 30
    assert main(["iterations", str(demo)]) == 0
    assert "stochastic" in capsys.readouterr().out


def test_predict_with_tta_writes_uncertainty(trained, tmp_path, capsys):
    out = tmp_path / "pred"
    assert main(["predict", str(trained), "--images", str(trained / "images" / "test"),
                 "--out", str(out), "--tta", "8", "--maps", "full"]) == 0
    names = sorted(p.stem for p in (trained / "images" / "test").iterdir())
    for name in names:
        mask = read_mask(out / f"{name}.png")
        unc = np.asarray(__import__("PIL.Image").Image.open(out / "uncertainty" / f"{name}.png"))
        assert unc.shape == mask.shape and unc.dtype == np.uint8


def test_simulate_runs_end_to_end_on_the_demo_set(trained, tmp_path, capsys):
    out = tmp_path / "sim"
    assert main(["simulate", "--images", str(trained / "images"), "--masks",
                 str(trained / "truth"), "--strategies", "random,stochastic", "--seeds", "1",
                 "--iterations", "1", "--batch-size", "2", "--initial", "2", "--steps", "3",
                 "--tta", "2", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "random" in text and "stochastic" in text and "test Dice" in text
    with open(out / "results.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["strategy"], r["iteration"], r["n_labelled"]) for r in rows] == [
        ("random", "0", "2"), ("random", "1", "4"),
        ("stochastic", "0", "2"), ("stochastic", "1", "4")]
    assert all(0 <= float(r["test_dice"]) <= 1 for r in rows)
    assert rows[1]["corrected_fraction"] != ""
    assert (out / "dice.png").stat().st_size > 5000


def test_select_without_model_needs_random(tmp_path, capsys):
    demo = tmp_path / "d"
    assert main(["demo", "--out", str(demo), "--no-viewer", "--small"]) == 0
    capsys.readouterr()
    assert main(["select", str(demo), "--strategy", "uncertainty", "--batch-size", "2"]) == 1
    assert "needs a trained model" in capsys.readouterr().err
    assert main(["select", str(demo), "--strategy", "random", "--batch-size", "2"]) == 0
    assert "proposal: cold-start" in capsys.readouterr().out  # cold-start proposals shown


def test_annotate_reads_masks_exported_under_clash_names(tmp_path, capsys):
    """Two images named alike export as <stem>__<id>.png; annotate finds them again."""
    from napari_specimask.core.io.images import write_image

    img = np.full((30, 40, 3), 220, np.uint8)
    img[5:25, 10:30] = 40
    write_image(tmp_path / "imgs" / "a" / "leaf.png", img)
    write_image(tmp_path / "imgs" / "b" / "leaf.png", np.roll(img, 5, axis=1))
    p = tmp_path / "p"
    assert main(["init", str(p), "--images", str(tmp_path / "imgs")]) == 0
    assert main(["propose", str(p), "--method", "otsu"]) == 0
    assert main(["select", str(p), "--strategy", "random", "--batch-size", "2"]) == 0
    assert main(["export", str(p), "--which", "proposal", "--status", "queued",
                 "--out", str(tmp_path / "todo")]) == 0
    assert sorted(f.name for f in (tmp_path / "todo").iterdir()) == ["leaf__1.png", "leaf__2.png"]
    capsys.readouterr()
    assert main(["annotate", str(p), "--masks", str(tmp_path / "todo")]) == 0
    assert "saved 2 of 2 queued image(s): 2 accepted" in capsys.readouterr().out


def test_select_with_the_default_strategy_and_no_model_draws_random(tmp_path, capsys):
    from napari_specimask.core.io.images import write_image

    img = np.full((30, 40, 3), 220, np.uint8)
    for k in range(4):
        img[k, k] = 10
        write_image(tmp_path / "imgs" / f"s{k}.png", img.copy())
    p = tmp_path / "p"
    assert main(["init", str(p), "--images", str(tmp_path / "imgs")]) == 0
    assert main(["select", str(p), "--strategy", "stochastic"]) == 1  # asked for: refused
    capsys.readouterr()
    assert main(["select", str(p), "--batch-size", "2"]) == 0  # the default: a note
    out, err = capsys.readouterr()
    assert "queued by random" in out and "no trained model yet" in err
