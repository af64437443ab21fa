"""`specimask continuous` as a person types it on the training machine."""

from __future__ import annotations

from napari_specimask.cli import main
from napari_specimask.core.active.annotations import submit_mask
from napari_specimask.core.demo.project import create_demo_project
from napari_specimask.core.io.images import read_mask
from napari_specimask.core.progress import run
from napari_specimask.core.store.registry import list_models


def test_continuous_once_runs_a_short_gated_fine_tuning(tmp_path, capsys):
    root = tmp_path / "demo"
    with run(create_demo_project(root, n_herbarium=4, n_plankton=4)) as p:
        p.settings.model.img_size, p.settings.model.encoder = 64, "resnet18"
        p.settings.model.encoder_weights = "none"
        p.settings.train.batch_size, p.settings.train.samples_per_epoch = 2, 2
        p.save_settings()
        for rec in p.images(role="pool")[:2]:
            submit_mask(p, rec.id, read_mask(root / "truth" / f"{rec.name}.png"))
    assert main(["continuous", str(root), "--every", "2", "--epochs", "1", "--once",
                 "--poll", "0.01"]) == 0
    out = capsys.readouterr().out
    assert "fine-tuning 1 epoch(s) after every 2 saved mask(s)" in out
    assert "v001" in out and "1 run(s)" in out
    with _open(root) as p:
        (model,) = list_models(p)
        assert model["config"]["extra"]["train"]["epochs"] == 1
    assert main(["continuous", str(root), "--every", "0"]) != 0
    assert "--every must be at least 1" in capsys.readouterr().err


def _open(root):
    from napari_specimask.core.store.project import Project

    return Project.open(root)
