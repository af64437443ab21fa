"""The recipe pages in docs/recipes/ run end to end, command by command, so they cannot rot.

Each ``$ specimask ...`` line of a page's console blocks is run in order with
``napari_specimask.cli.main`` in a scratch folder that holds stand-in data in the
layout the page describes (a local HTTP server on 127.0.0.1 plays figshare). Training
options are replaced by tiny ones (appended, so they win) to keep each page to a
minute; every other option is run as written.
"""

from __future__ import annotations

import io
import json
import re
import shlex
import threading
import zipfile
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from napari_specimask.cli import main
from napari_specimask.core.demo.herbarium import make_herbarium_sheet
from napari_specimask.core.demo.plankton import make_plankton
from napari_specimask.core.exchange.brush_rle import mask_to_rle
from napari_specimask.core.io.images import read_mask, write_image, write_mask_png
from napari_specimask.core.store.project import Project
from napari_specimask.core.store.registry import list_models

RECIPES = Path(__file__).parent.parent / "docs" / "recipes"
TINY = ["--img-size", "64", "--epochs", "1", "--batch-size", "8",
        "--encoder", "resnet18", "--encoder-weights", "none", "--patience", "0"]
# a one-epoch 64 px model cannot beat cold start, which the recipes' real runs are judged
# against (core/loop/gate.py); here the steps after it need an active model all the same
ACTIVATE = ["--activate", "yes"]
FAST = {"train": TINY + ACTIVATE, "round": [*TINY, "--tta", "2", "--activate", "always"],
        "grid": TINY,
        "select": ["--tta", "2"], "predict": ["--tta", "2"]}


def commands(page: Path) -> list[str]:
    """The ``$ specimask`` lines of the page's console blocks, in order."""
    blocks = re.findall(r"```console\n(.*?)```", page.read_text(), re.S)
    return [line[2:] for block in blocks for line in block.splitlines()
            if line.startswith("$ specimask ")]


def run_page(page: Path, after: dict | None = None) -> list[str]:
    ran = []
    for command in commands(page):
        argv = shlex.split(command)[1:]
        assert main(argv + FAST.get(argv[0], [])) == 0, f"{page.name}: {command}"
        ran.append(command)
        for key, hook in (after or {}).items():
            if command.startswith(f"specimask {key}"):
                hook()
    return ran


def correct_one_mask(folder: Path) -> None:
    """What a person does between `export --which proposal` and `annotate`."""
    first = sorted(folder.glob("*.png"))[0]
    mask = read_mask(first)
    h, w = mask.shape
    mask[: h // 4, : w // 4] = ~mask[: h // 4, : w // 4]
    write_mask_png(first, mask)


# -- plankton: clean source, noisy target ------------------------------------------------


def clean(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A crisp source image: dark specimen on an even background."""
    out = np.full_like(image, 238)
    out[mask] = (image[mask] * 0.45).astype(np.uint8)
    return out


def noisy(rng, image: np.ndarray) -> np.ndarray:
    """A harder target image: uneven light and more sensor noise."""
    h, w = image.shape[:2]
    light = np.linspace(0.8, 1.05, w)[None, :, None]
    out = image * light + rng.normal(0, 10, image.shape)
    return np.clip(out, 0, 255).astype(np.uint8)


@pytest.fixture
def plankton_data(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    for i in range(8):
        img, mask = make_plankton(rng)
        write_image(tmp_path / "source" / f"src_{i:02d}.png", clean(img, mask))
    for split, n in (("pool", 10), ("val", 3)):
        for i in range(n):
            img, mask = make_plankton(rng)
            write_image(tmp_path / "target" / split / f"{split}_{i:02d}.png", noisy(rng, img))
            if split == "val":
                write_mask_png(tmp_path / "target" / "val_masks" / f"{split}_{i:02d}.png", mask)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_plankton_recipe(plankton_data):
    ran = run_page(RECIPES / "plankton.md",
                   after={"export plankton --which proposal": lambda: correct_one_mask(
                       plankton_data / "to_fix")})
    assert len(ran) >= 12
    rows = list((plankton_data / "grid" / "results.csv").read_text().splitlines())
    assert len(rows) == 1 + 8  # header + 2 x 2 x 2 combinations
    with Project.open(plankton_data / "plankton") as project:
        models = list_models(project)
    ranked = sorted((m for m in models if m["status"] in ("ready", "stopped")),
                    key=lambda m: -(m["metrics"].get("best_val_dice") or -1.0))
    kept = {m["version"] for m in models if m["active"]}
    kept |= {m["version"] for m in [m for m in ranked if not m["active"]][:2]}
    left = {w.parent.name for w in (plankton_data / "plankton" / "models").glob("v*/weights.*")}
    assert left == kept and len(models) == 10  # 2 rounds + 8 combinations; 3 kept
    coco = json.loads((plankton_data / "plankton_coco.json").read_text())
    assert coco["annotations"] and coco["categories"][0]["name"] == "specimen"
    provenance = (plankton_data / "provenance.csv").read_text()
    assert "corrected" in provenance and "accepted" in provenance
    assert any((plankton_data / "cutouts").iterdir())


# -- herbarium: figshare fern set, Half-Earth archive, Label Studio -----------------------


def sheet(rng) -> tuple[np.ndarray, np.ndarray]:
    h = int(rng.integers(200, 241))
    return make_herbarium_sheet(rng, h, int(h * 0.68))


def jpeg_mask(mask: np.ndarray) -> bytes:
    """A published fern mask: JPEG, so grey edges and compression noise."""
    buf = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255).save(buf, format="JPEG", quality=75)
    return buf.getvalue()


@pytest.fixture
def herbarium_data(tmp_path, monkeypatch, encode):
    rng = np.random.default_rng(2)
    served = tmp_path / "figshare" / "ndownloader" / "files"
    served.mkdir(parents=True)
    sheets = {f"US{1000 + i}": sheet(rng) for i in range(10)}
    (served / "17851235").write_bytes(encode.tar_gz(
        {f"original_hires_images/{k}.png": encode.png(img) for k, (img, _) in sheets.items()}))
    (served / "17851277").write_bytes(encode.tar_gz(
        {f"hires_masks/{k}_mask.jpg": jpeg_mask(m) for k, (_, m) in sheets.items()}))
    (served / "21488406").write_bytes(b"catalog\tgenus\n" + b"".join(
        f"{k}\tPolypodium\n".encode() for k in sheets))
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler,
                                                           directory=str(tmp_path / "figshare")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SPECIMASK_FIGSHARE_DOWNLOAD",
                       f"http://127.0.0.1:{server.server_address[1]}/ndownloader")

    # the Half-Earth archive: 6 families, one dominated by a big genus, one with 1 image
    taxa = [("Polypodiaceae", "Polypodium")] * 4 + [("Polypodiaceae", "Pleopeltis")] + \
        [("Aspleniaceae", "Asplenium")] * 3 + [("Rosaceae", "Rosa")] + \
        [("Pteridaceae", "Adiantum")] * 2 + [("Dryopteridaceae", "Dryopteris")] * 3 + \
        [("Lycopodiaceae", "Lycopodium"), ("Lycopodiaceae", "Huperzia")]
    categories, images, annotations, members = [], [], [], {}
    for i, (family, genus) in enumerate(taxa):
        categories.append({"id": i, "name": f"{genus} species{i}", "family": family,
                           "order": "Polypodiales"})
        file_name = f"images/{i:03d}/00/{i}.png"
        images.append({"id": i, "file_name": file_name})
        annotations.append({"id": i, "image_id": i, "category_id": i})
        members[f"train/{file_name}"] = encode.png(sheet(rng)[0])
    members["train/metadata.json"] = json.dumps(
        {"images": images, "annotations": annotations, "categories": categories}).encode()
    with zipfile.ZipFile(tmp_path / "herbarium-2021-fgvc8.zip", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def masks_made_elsewhere(root: Path) -> None:
    """Another model's masks and a Label Studio export, for sample sheets not yet labelled."""
    from napari_specimask.core.store.project import Project

    with Project.open(root / "herbarium") as project:
        sample = [project.image_path(r) for r in project.images(role="pool", status="unlabeled")]
    assert len(sample) >= 3
    for path in sample[:2]:
        img = np.asarray(Image.open(path))
        mask = img.mean(axis=2) < 200
        write_mask_png(root / "fern_model_output" / f"{path.stem}.png", mask)
    path = sample[-1]
    h, w = np.asarray(Image.open(path)).shape[:2]
    mask = np.zeros((h, w), bool)
    mask[h // 4: 3 * h // 4, w // 4: 3 * w // 4] = True
    task = {"data": {"image": f"/data/upload/1/0a1b2c3d-{path.name}"},
            "annotations": [{"completed_by": {"email": "curator@example.org"},
                             "result": [{"type": "brushlabels", "original_width": w,
                                         "original_height": h,
                                         "value": {"format": "rle", "rle": mask_to_rle(mask),
                                                   "brushlabels": ["Specimen"]}}]}]}
    (root / "labelstudio_export.json").write_text(json.dumps([task]))


def test_herbarium_recipe(herbarium_data):
    root = herbarium_data
    run_page(RECIPES / "herbarium.md", after={
        "iterations herbarium": lambda: masks_made_elsewhere(root),
        "export herbarium --which proposal": lambda: correct_one_mask(root / "to_fix")})
    assert len(list((root / "data" / "ferns" / "masks").glob("*.png"))) == 10
    assert len(list((root / "predictions_dilated").glob("*.png"))) == 11  # 2 x 5 + 1
    provenance = (root / "provenance.csv").read_text()
    assert "imported" in provenance and "curator@example.org" in provenance
    coco = json.loads((root / "herbarium_coco.json").read_text())
    assert len(coco["images"]) == len(coco["annotations"]) > 10
