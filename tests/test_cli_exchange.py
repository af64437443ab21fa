"""`specimask import-masks`, `import-labelstudio` and the export formats, as typed."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from napari_specimask.cli import main
from napari_specimask.core.demo.project import create_demo_project
from napari_specimask.core.progress import run
from napari_specimask.core.store.project import Project

DATA = Path(__file__).parent / "data"


def sm(capsys, *args):
    code = main([str(a) for a in args])
    return code, capsys.readouterr()


@pytest.fixture
def demo(tmp_path):
    run(create_demo_project(tmp_path / "demo", n_herbarium=3, n_plankton=3)).close()
    return tmp_path / "demo"


def test_import_masks_as_cold_start_then_labels(demo, capsys):
    """The former spelling, ``--as pseudo``, is still taken, with a note."""
    code, out = sm(capsys, "import-masks", demo, demo / "truth", "--as", "pseudo",
                   "--method", "fern-unet")
    assert code == 0 and "pseudo is now called coldstart" in out.err
    assert out.out.startswith("imported 6 cold-start mask(s); 0 image(s) without")
    code, out = sm(capsys, "import-masks", demo, demo / "truth")
    assert code == 0 and "imported 2 verified mask(s)" in out.out and "skipped 4" in out.out
    assert "use --overwrite" in out.out
    status = json.loads(sm(capsys, "status", demo, "--json")[1].out)
    assert status["by_status"]["labeled"] == 6
    code, out = sm(capsys, "import-masks", demo, demo / "truth", "--overwrite")
    assert code == 0 and "imported 6 verified" in out.out


def test_import_masks_errors_are_one_line(demo, tmp_path, capsys):
    code, out = sm(capsys, "import-masks", demo, tmp_path / "nope")
    assert code == 1 and out.err.strip() == f"specimask: error: {tmp_path / 'nope'}: " \
                                           "masks folder not found"


@pytest.fixture
def ls_project(tmp_path, capsys):
    rng = np.random.default_rng(2)
    scans = tmp_path / "scans"
    scans.mkdir()
    for name in ("leaf1", "leaf2", "leaf3"):
        Image.fromarray(rng.integers(0, 255, (23, 37, 3), np.uint8)).save(scans / f"{name}.png")
    assert sm(capsys, "init", tmp_path / "proj", "--images", scans)[0] == 0
    return tmp_path / "proj"


def test_import_labelstudio(ls_project, capsys):
    export = DATA / "labelstudio_export.json"
    code, out = sm(capsys, "import-labelstudio", ls_project, export, "--label", "Specimen")
    assert code == 0
    lines = out.out.splitlines()
    assert lines[0] == ("imported 1 verified mask(s); 1 task(s) without a brush mask; "
                        "1 task(s) of no project image; skipped 1")
    assert any(line.startswith("  skipped task 14 (leaf3.png): Label Studio's mask is 23 x 37")
               for line in lines)
    assert "  no match: task 12 (0badf00d-unknown.png)" in lines
    assert "  without mask: task 13 (a1b2c3d4-leaf2.png): no annotations" in lines
    with Project.open(ls_project) as p:
        mask = p.load_mask(1)
    expected = np.asarray(Image.open(DATA / "labelstudio_leaf1_specimen.png")) > 0
    assert np.array_equal(mask, expected)


def test_import_labelstudio_errors(ls_project, tmp_path, capsys):
    export = DATA / "labelstudio_export.json"
    code, out = sm(capsys, "import-labelstudio", ls_project, export, "--label", "Leaf")
    assert code == 1 and len(out.err.strip().splitlines()) == 1
    assert "no brush results labelled 'Leaf'; the export has 'Specimen', 'Tape'" in out.err
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    code, out = sm(capsys, "import-labelstudio", ls_project, bad)
    assert code == 1 and f"{bad}: not valid JSON" in out.err and "export the project" in out.err


def test_export_formats(demo, tmp_path, capsys):
    code, out = sm(capsys, "export", demo, "--out", tmp_path / "cut", "--format", "cutout",
                   "--background", "white", "--crop", "--margin", "4", "--jpeg")
    assert code == 0 and out.out.startswith("wrote 4 cut-out(s) of verified masks")
    assert len(list((tmp_path / "cut").glob("*.jpg"))) == 4
    code, out = sm(capsys, "export", demo, "--out", tmp_path / "c.json", "--format", "coco",
                   "--which", "coldstart")
    assert code == 0 and "2 image(s), 2 annotation(s) of cold-start masks" in out.out
    assert len(json.loads((tmp_path / "c.json").read_text())["images"]) == 2
    code, out = sm(capsys, "export", demo, "--out", tmp_path / "prov", "--format", "provenance",
                   "--role", "val")
    assert code == 0 and "2 row(s)" in out.out
    with open(tmp_path / "prov" / "provenance.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["role"] for r in rows] == ["val", "val"]
    assert all(r["origin"] == "imported" for r in rows)
    code, out = sm(capsys, "export", demo, "--out", tmp_path / "m", "--crop")
    assert code == 1 and "apply to --format cutout only" in out.err
