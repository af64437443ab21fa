"""The `specimask` command, end to end, as a person types it."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from napari_specimask.cli import main
from napari_specimask.core.io.images import read_mask, write_mask_png


def sm(*args, capsys=None):
    code = main([str(a) for a in args])
    out = capsys.readouterr() if capsys else None
    return code, out


@pytest.fixture
def images(tmp_path, rgb_image):
    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(3):
        Image.fromarray(np.roll(rgb_image, i * 3, axis=1)).save(d / f"leaf {i}.png")
    (d / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really")
    return d


def test_init_status_propose_export_evaluate(tmp_path, images, capsys):
    proj = tmp_path / "proj"
    code, out = sm("init", proj, "--images", images, capsys=capsys)
    assert code == 0
    assert "added 3 image(s)" in out.out and "skipped" in out.out and "broken.jpg" in out.out
    code, out = sm("status", proj, "--json", capsys=capsys)
    status = json.loads(out.out)
    assert status["images"] == 3 and status["by_status"]["unlabeled"] == 3
    assert status["by_role"]["pool"] == 3 and status["iteration"] == 0
    assert status["active_model"] is None
    assert sm("propose", proj, "--method", "otsu", capsys=capsys)[0] == 0
    code, out = sm("export", proj, "--out", tmp_path / "out", "--which", "coldstart", capsys=capsys)
    assert code == 0 and "wrote 3 cold-start mask(s)" in out.out
    exported = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert exported == ["leaf 0.png", "leaf 1.png", "leaf 2.png"]
    m = read_mask(tmp_path / "out" / "leaf 0.png")
    assert m.shape == (40, 60)
    code, out = sm("evaluate", tmp_path / "out", tmp_path / "out", "--json", capsys=capsys)
    result = json.loads(out.out)
    assert result["mean_dice"] == 1.0 and len(result["images"]) == 3
    assert set(result["images"][0]) >= {"name", "dice", "iou"}
    code, out = sm("evaluate", tmp_path / "out", tmp_path / "out", capsys=capsys)
    assert "both empty" in out.out and "mean" in out.out


def test_import_with_masks_and_role(tmp_path, images, capsys):
    proj = tmp_path / "proj"
    sm("init", proj, "--images", images, capsys=capsys)
    val = tmp_path / "val"
    val.mkdir()
    img = np.full((20, 30, 3), 240, np.uint8)
    img[5:15, 5:20] = 30
    Image.fromarray(img).save(val / "v.png")
    truth = img[..., 0] < 100
    write_mask_png(tmp_path / "vmasks" / "v.png", truth)
    code, out = sm("import", proj, val, "--masks", tmp_path / "vmasks", "--role", "val",
                   capsys=capsys)
    assert code == 0 and "1 with masks" in out.out
    code, out = sm("status", proj, "--json", capsys=capsys)
    status = json.loads(out.out)
    assert status["by_role"]["val"] == 1 and status["by_status"]["labeled"] == 1
    code, out = sm("export", proj, "--out", tmp_path / "vout", capsys=capsys)
    assert np.array_equal(read_mask(tmp_path / "vout" / "v.png"), truth)


def test_postprocess_command(tmp_path, capsys):
    m = np.zeros((30, 30), bool)
    m[10:20, 10:20] = True
    write_mask_png(tmp_path / "in" / "a.png", m)
    Image.fromarray(np.arange(900, dtype=np.uint8).reshape(30, 30)).save(tmp_path / "in" / "b.png")
    (tmp_path / "in" / "probability").mkdir()  # maps `predict` writes beside its masks
    Image.fromarray(np.full((30, 30), 128, np.uint8)).save(tmp_path / "in" / "probability" / "a.png")
    code, out = sm("postprocess", tmp_path / "in", "--out", tmp_path / "o", "--kernel", "5",
                   "--iters", "1", capsys=capsys)
    assert code == 0 and "skipped 1" in out.out and "b.png" in out.out
    assert read_mask(tmp_path / "o" / "a.png").sum() == 14 * 14
    assert not (tmp_path / "o" / "probability").exists()


def test_errors_are_one_line_and_nonzero(tmp_path, capsys):
    code, out = sm("status", tmp_path / "nowhere", capsys=capsys)
    assert code == 1
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("specimask: error:") and "nowhere" in lines[0]
    code, out = sm("import", tmp_path, tmp_path / "missing", capsys=capsys)
    assert code == 1 and "not a specimask project" in out.err


def test_demo_no_viewer(tmp_path, capsys):
    code, out = sm("demo", "--out", tmp_path / "demo", "--no-viewer", capsys=capsys)
    assert code == 0 and "created demo project" in out.out
    status = json.loads(sm("status", tmp_path / "demo", "--json", capsys=capsys)[1].out)
    assert status["images"] == 48
    assert status["by_role"] == {"pool": 32, "val": 8, "test": 8, "source": 0}
    assert status["masks_by_origin"]["imported"] == 16 and status["masks_by_origin"]["coldstart"] == 32
    assert len(list((tmp_path / "demo" / "truth").glob("*.png"))) == 48
    code, out = sm("demo", "--out", tmp_path / "demo", "--no-viewer", capsys=capsys)
    assert code == 0 and "existing demo project" in out.out


def test_demo_without_display_says_what_to_do(tmp_path, monkeypatch, capsys):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    code, out = sm("demo", "--out", tmp_path / "demo", capsys=capsys)
    assert code == 1 and "no display" in out.err and "xvfb-run" in out.err


def test_console_script_runs(tmp_path):
    result = subprocess.run([sys.executable, "-m", "napari_specimask", "--version"],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("specimask ")


def test_propose_chooses_the_method_once_and_reaches_queued_images(tmp_path, capsys):
    """Old code: a fixed `background` default, and a second `propose` never reached the
    images already queued (their frozen proposals won). `init` chooses the method and
    proposes as napari's Add images… does; `import --no-propose` only imports."""
    from napari_specimask.core.coldstart.methods import ColdStart
    from napari_specimask.core.demo.project import create_demo_project
    from napari_specimask.core.progress import run
    from napari_specimask.core.store.project import Project

    run(create_demo_project(tmp_path / "demo", n_herbarium=3, n_plankton=3)).close()
    proj = tmp_path / "p"
    code, out = sm("init", proj, "--images", tmp_path / "demo" / "images" / "pool",
                   capsys=capsys)
    assert code == 0 and "cold-start method chosen for this project:" in out.out
    with Project.open(proj) as p:
        chosen = p.settings.coldstart.method
        assert chosen in ("otsu", "background", "kmeans")
        assert f"stored 2 '{chosen}' cold-start proposal(s)" in out.out
        assert all(p.load_mask(r.id, "coldstart") is not None for r in p.images())
    code, out = sm("import", proj, tmp_path / "demo" / "images" / "val", "--no-propose",
                   capsys=capsys)
    assert code == 0 and "proposal" not in out.out
    with Project.open(proj) as p:
        assert [p.load_mask(r.id, "coldstart") is None for r in p.images()].count(True) == 2
    code, out = sm("propose", proj, capsys=capsys)
    assert code == 0 and "chosen" not in out.out  # once: the stored method is used
    assert sm("select", proj, "--strategy", "random", "--batch-size", "2")[0] == 0
    other = next(m for m in ("otsu", "background") if m != chosen)
    code, out = sm("propose", proj, "--method", other, capsys=capsys)
    assert code == 0 and "2 queued image(s)" in out.out
    with Project.open(proj) as p:
        assert p.settings.coldstart.method == other   # what new images get from now on
        cold = ColdStart.from_settings(p.settings.coldstart)
        for rec in p.images(status="queued"):
            shown = p.load_mask(rec.id, "proposal")
            assert np.array_equal(shown, cold(p.read_image(rec)[..., :3]))


def test_status_names_the_drafts_a_closed_napari_left(tmp_path, images, capsys):
    """Edits staged as a draft and never saved (napari killed) are named by `status`, so
    a person knows which images to open again; a save of the image removes the line."""
    from napari_specimask.core.store.drafts import stage_draft
    from napari_specimask.core.store.project import Project

    proj = tmp_path / "proj"
    sm("init", proj, "--images", images, capsys=capsys)
    with Project.open(proj) as project:
        record = project.images()[0]
        mask = np.zeros((record.height, record.width), bool)
        stage_draft(project, project.image_ref(record.id), "ana", mask, None, 12)
    code, out = sm("status", proj, capsys=capsys)
    assert code == 0 and f"unsaved drafts: 1: {record.relpath} (ana)" in out.out
    status = json.loads(sm("status", proj, "--json", capsys=capsys)[1].out)
    assert [(d["image"], d["author"]) for d in status["unsaved_drafts"]] == [
        (record.relpath, "ana")]
    with Project.open(proj) as project:
        from napari_specimask.core.active.annotations import submit_mask
        submit_mask(project, record.id, mask, author="ana")
    assert "unsaved drafts" not in sm("status", proj, capsys=capsys)[1].out
