"""What specimask says is true (issue 22): a model kept out by the gate is named when a
command needs one, a model activated by hand is not said to have won, and a fine-tuning
run is not called "from scratch"."""

from __future__ import annotations

from dataclasses import asdict

from napari_specimask.cli import main
from napari_specimask.core.store.project import Project
from napari_specimask.core.store.registry import activate, update_metrics
from napari_specimask.core.store.verdicts import GATE_KEY, Verdict, proposal_source


def _lost_the_gate(project, registered_versions):
    (version,) = registered_versions(project, [0.2983])
    verdict = Verdict(version, "cold start (otsu)", 0.392, 0.950, 2)
    update_metrics(project, version, {GATE_KEY: asdict(verdict)})
    return version


def test_predict_with_no_active_model_names_the_trained_ones(tmp_path, capsys,
                                                             registered_versions):
    """Old code: "no trained model yet; run `specimask train`", beside a trained v001."""
    with Project.create(tmp_path / "p") as project:
        version = _lost_the_gate(project, registered_versions)
    assert main(["predict", str(tmp_path / "p")]) == 1
    err = capsys.readouterr().err
    assert "no trained model yet" not in err and "no model is active" in err
    assert f"{version} (v001 did not beat cold start (otsu): mean Dice 0.392 against " \
           "0.950" in err
    assert f"--model {version}" in err and f"specimask activate {tmp_path / 'p'}" in err
    assert len(err.strip().splitlines()) == 1  # one line, as every error


def test_predict_on_a_project_never_trained_says_to_train(tmp_path, capsys):
    Project.create(tmp_path / "p").close()
    assert main(["predict", str(tmp_path / "p")]) == 1
    assert "no trained model yet; run `specimask train`" in capsys.readouterr().err


def test_a_model_activated_by_hand_is_not_said_to_have_won(project, registered_versions):
    """Old code: "proposals from model v002 (v002 did not beat cold start ...)"."""
    version = _lost_the_gate(project, registered_versions)
    activate(project, version)  # a person's choice (`specimask activate`, the GUI)
    said = proposal_source(project)
    assert said.startswith(f"proposals from model {version} (activated by hand; the gate "
                           "had found: v001 did not beat")
    activate(project, version, by="gate")
    assert proposal_source(project) == (f"proposals from model {version} (v001 did not "
                                        "beat cold start (otsu): mean Dice 0.392 against "
                                        "0.950 on 2 held-out verified mask(s))")


def test_models_table_shows_both_dice_and_says_why_they_differ(tmp_path, capsys,
                                                               registered_versions):
    """Old code: val Dice 0.2983 in the table, 0.392 in the gate's verdict, no word why."""
    with Project.create(tmp_path / "p") as project:
        _lost_the_gate(project, registered_versions)
    assert main(["models", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "val Dice" in out and "shown Dice" in out
    assert "0.2983" in out and "0.3920" in out
    assert "training's measure" in out and "the gate's" in out
