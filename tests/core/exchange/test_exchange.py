"""Masks in from elsewhere (a folder, Label Studio) and out (cut-outs, COCO, provenance).

``tests/data/labelstudio_export.json`` was made with Label Studio's own encoder
(``label_studio_sdk`` 2.1.2, ``converter/brush.py``: ``encode_rle`` on a coloured RGBA
layer, and ``mask2rle``), so the decoder is checked against the real format, not only
against our own encoder. Its task 11 has three annotations: an older one, the one that
counts (two ``Specimen`` brush results, a ``Tape`` one and a rectangle), and a later
cancelled one. ``labelstudio_leaf1_specimen.png`` / ``_all.png`` are the expected masks.
"""

from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from napari_specimask.core.active.annotations import submit_mask
from napari_specimask.core.active.queue import select_next
from napari_specimask.core.demo.project import create_demo_project
from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.exchange import brush_rle
from napari_specimask.core.exchange import labelstudio as ls
from napari_specimask.core.exchange.export import (
    PROVENANCE_COLUMNS,
    export,
    export_coco,
    export_cutouts,
    export_masks,
    export_provenance,
)
from napari_specimask.core.exchange.image_import import import_images
from napari_specimask.core.exchange.labelstudio_import import import_labelstudio
from napari_specimask.core.exchange.mask_import import import_mask_folder
from napari_specimask.core.io.images import read_mask, write_mask_png
from napari_specimask.core.progress import run

DATA = Path(__file__).parents[2] / "data"
EXPORT = DATA / "labelstudio_export.json"
H, W = 23, 37


def _save(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)


def _expected(name: str) -> np.ndarray:
    return np.asarray(Image.open(DATA / f"labelstudio_leaf1_{name}.png")) > 0


@pytest.fixture
def ls_project(project, tmp_path):
    """Images named as in the Label Studio export, 37 x 23 px."""
    rng = np.random.default_rng(1)
    for name in ("leaf1", "leaf2", "leaf3", "leaf4"):
        _save(tmp_path / "scans" / f"{name}.png", rng.integers(0, 255, (H, W, 3), np.uint8))
    run(import_images(project, tmp_path / "scans"))
    return project


@pytest.fixture
def demo(tmp_path):
    project = run(create_demo_project(tmp_path / "demo", n_herbarium=4, n_plankton=4))
    yield project
    project.close()


def _ids(project):
    return {Path(r.relpath).stem: r.id for r in project.images()}


# -- the Label Studio RLE --------------------------------------------------------------


def test_decoder_reads_label_studios_own_encoding():
    tasks = json.loads(EXPORT.read_text())
    results = {r["id"]: r for r in tasks[0]["annotations"][1]["result"]}
    a, b = (ls.result_mask(results[k])[0] for k in ("a", "b"))
    assert np.array_equal(a | b, _expected("specimen"))
    assert not (a & b).any() and a.any() and b.any()
    rgba = brush_rle.decode_rle(results["a"]["value"]["rle"]).reshape(H, W, 4)
    assert (rgba[a] == (255, 0, 0, 255)).all() and (rgba[~a] == 0).all()  # the label colour


def test_encoder_and_decoder_round_trip_any_values():
    rng = np.random.default_rng(0)
    for h, w in [(1, 1), (3, 5), (17, 9), (40, 70)]:
        mask = rng.random((h, w)) < 0.4
        assert np.array_equal(brush_rle.brush_mask(brush_rle.mask_to_rle(mask), h, w), mask)
        values = rng.integers(0, 256, h * w * 4).astype(np.uint8)  # literals everywhere
        values[: h * w] = 7  # and one long run
        assert np.array_equal(brush_rle.decode_rle(brush_rle.encode_rle(values)), values)
    big = np.zeros((300, 300), bool)
    big[20:280, 10:290] = True  # runs longer than the 16-bit run field
    assert np.array_equal(brush_rle.brush_mask(brush_rle.mask_to_rle(big), 300, 300), big)


def test_decoder_refuses_broken_streams():
    rle = brush_rle.mask_to_rle(np.eye(6, dtype=bool))
    with pytest.raises(brush_rle.RLEError, match="ends early"):
        brush_rle.brush_mask(rle[: len(rle) // 2], 6, 6)
    with pytest.raises(brush_rle.RLEError, match="holds 144 values.*7 x 6 px"):
        brush_rle.brush_mask(rle, 6, 7)
    with pytest.raises(brush_rle.RLEError, match="list of bytes"):
        brush_rle.decode_rle([0, 300, 2])


def test_task_file_names_and_upload_prefix():
    names, _ = ls.task_names({"data": {"image": "/data/upload/3/3f2a9c1d-My%20leaf.JPG"}})
    assert names == ["3f2a9c1d-My leaf.JPG"]
    assert ls.strip_upload_prefix(names[0]) == "My leaf.JPG"
    assert ls.strip_upload_prefix("leaf-1.jpg") == "leaf-1.jpg"
    names, _ = ls.task_names({"data": {"img": "http://x/data/local-files/?d=scans/a%2Fb.png"}})
    assert names == ["b.png"]


# -- importing a Label Studio export ---------------------------------------------------


def test_labelstudio_import_with_label(ls_project):
    report = run(import_labelstudio(ls_project, EXPORT, label="Specimen"))
    ids = _ids(ls_project)
    assert report.imported == [ids["leaf1"]]
    assert np.array_equal(ls_project.load_mask(ids["leaf1"]), _expected("specimen"))
    ann = ls_project.annotations(ids["leaf1"])[-1]
    assert ann["origin"] == "imported" and ann["author"] == "labelstudio:7"
    assert ann["method"] == "labelstudio task 11 annotation 101"
    assert ls_project.image(ids["leaf1"]).status == "labeled"
    assert report.unmatched == ["task 12 (0badf00d-unknown.png)"]
    assert report.without_mask == ["task 13 (a1b2c3d4-leaf2.png): no annotations"]
    (skip,) = report.skipped
    assert skip.path == "task 14 (leaf3.png)"
    assert "23 x 37 px" in skip.reason and "37 x 23 px" in skip.reason
    assert "width and height swapped" in skip.reason


def test_labelstudio_all_labels_merged_and_cold_start(ls_project):
    report = run(import_labelstudio(ls_project, EXPORT, as_="coldstart", method="ls-round-1"))
    leaf1 = _ids(ls_project)["leaf1"]
    assert report.imported == [leaf1]
    assert ls_project.load_mask(leaf1) is None  # a proposal, not a verified mask
    assert np.array_equal(ls_project.load_mask(leaf1, "coldstart"), _expected("all"))
    ann = ls_project.annotations(leaf1)[-1]
    assert ann["origin"] == "coldstart" and ann["method"] == "ls-round-1"
    assert ls_project.image(leaf1).status == "unlabeled"


def test_labelstudio_keeps_verified_masks_unless_overwrite(ls_project):
    leaf1 = _ids(ls_project)["leaf1"]
    mine = np.zeros((H, W), bool)
    mine[2:5, 2:5] = True
    ls_project.save_mask(leaf1, mine, "hand")
    report = run(import_labelstudio(ls_project, EXPORT))
    assert not report.imported and "already has a verified mask" in report.skipped[0].reason
    assert np.array_equal(ls_project.load_mask(leaf1), mine)
    report = run(import_labelstudio(ls_project, EXPORT, overwrite=True))
    assert report.imported == [leaf1]
    assert np.array_equal(ls_project.load_mask(leaf1), _expected("all"))


def test_labelstudio_latest_annotation_and_duplicate_tasks(ls_project, tmp_path):
    tasks = json.loads(EXPORT.read_text())[:1]
    tasks[0]["annotations"][0]["updated_at"] = "2030-01-01T00:00:00Z"  # the old one is newest
    tasks.append(json.loads(json.dumps(tasks[0])) | {"id": 15})
    path = tmp_path / "ls.json"
    path.write_text(json.dumps(tasks))
    report = run(import_labelstudio(ls_project, path))
    leaf1 = _ids(ls_project)["leaf1"]
    assert report.imported == [leaf1]
    assert ls_project.annotations(leaf1)[-1]["author"] == "labelstudio:5"
    assert "already got a mask from task 11" in report.skipped[0].reason


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"images": [], "annotations": []}', "expected a list of tasks"),
    ('[{"image": "a.png", "tag": []}]', "not JSON-MIN"),
    ('[{"data": {"image": "leaf1.png"}, "annotations": [{"result": [{"type": '
     '"rectanglelabels", "value": {"rectanglelabels": ["Specimen"]}}]}]}]',
     "no brush annotations"),
])
def test_labelstudio_bad_exports(ls_project, tmp_path, content, message):
    path = tmp_path / "export.json"
    path.write_text(content)
    with pytest.raises(SpecimaskError, match=message) as err:
        run(import_labelstudio(ls_project, path))
    assert str(path) in str(err.value)


def test_labelstudio_unknown_label_and_no_matching_image(ls_project, tmp_path):
    with pytest.raises(SpecimaskError, match="no brush results labelled 'Leaf'.*'Specimen', "
                                             "'Tape'"):
        run(import_labelstudio(ls_project, EXPORT, label="Leaf"))
    tasks = json.loads(EXPORT.read_text())[1:2]  # only the unknown image
    path = tmp_path / "other.json"
    path.write_text(json.dumps(tasks))
    with pytest.raises(SpecimaskError, match="none of its 1 task.*unknown.png.*specimask import"):
        run(import_labelstudio(ls_project, path))


# -- importing a folder of masks -------------------------------------------------------


def test_import_masks_folder_as_labels_and_cold_start(demo):
    pool = demo.images(role="pool")
    held_out = demo.images(status="labeled")  # val and test come with their masks
    assert pool and held_out
    report = run(import_mask_folder(demo, demo.root / "truth", method="fern-model"))
    assert sorted(report.imported) == [r.id for r in pool]  # a flat folder, by stem
    assert len(report.skipped) == len(held_out)
    assert all("already has a verified mask" in s.reason for s in report.skipped)
    assert not report.without_mask and not report.unmatched
    first = pool[0]
    truth = read_mask(demo.root / "truth" / f"{first.name}.png")
    assert np.array_equal(demo.load_mask(first.id), truth)
    assert demo.annotations(first.id)[-1]["method"] == "fern-model"
    assert demo.summary()["by_status"]["labeled"] == len(pool) + len(held_out)
    report = run(import_mask_folder(demo, demo.root / "truth", as_="coldstart"))
    assert len(report.imported) == len(pool) + len(held_out) and not report.skipped
    ann = demo.annotations(first.id)[-1]
    assert ann["origin"] == "coldstart" and ann["method"] == f"truth/{first.name}.png"


def test_import_masks_pairs_subfolders_and_reports_problems(project, tmp_path, rgb_image):
    for rel in ("a/leaf.png", "b/leaf.png", "c.png", "d.png", "e.png"):
        _save(tmp_path / "imgs" / rel, np.roll(rgb_image, len(rel) + ord(rel[0]), axis=1))
    run(import_images(project, tmp_path / "imgs"))
    ids = {r.relpath.removeprefix("../imgs/"): r.id for r in project.images()}
    m = np.zeros((40, 60), np.uint8)
    m[5:25, 10:40] = 255
    masks = tmp_path / "pred"
    _save(masks / "a" / "leaf.png", m)
    _save(masks / "b" / "leaf_mask.png", 255 - m)
    _save(masks / "c.png", m // 255)  # 0/1
    _save(masks / "d.png", m[:30])  # wrong size
    _save(masks / "zzz.png", m)  # no such image
    prob = np.tile(np.linspace(0, 255, 60).astype(np.uint8), (40, 1))  # a grey map
    _save(masks / "e.tif", prob)
    _save(masks / "probability" / "c.png", prob)  # what `specimask predict` writes beside
    report = run(import_mask_folder(project, masks))
    assert sorted(report.imported) == sorted([ids["a/leaf.png"], ids["b/leaf.png"], ids["c.png"]])
    assert np.array_equal(project.load_mask(ids["b/leaf.png"]), m == 0)
    assert np.array_equal(project.load_mask(ids["c.png"]), m > 0)
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert "60 x 30 px" in reasons["d.png"] and "never resized" in reasons["d.png"]
    assert "distinct values" in reasons["e.tif"] and "--threshold 0.5" in reasons["e.tif"]
    assert report.unmatched == [str(masks / "zzz.png")]
    report = run(import_mask_folder(project, masks, threshold=0.5))
    assert report.imported == [ids["e.png"]]  # the others already have verified masks
    assert np.array_equal(project.load_mask(ids["e.png"]), prob >= 127.5)
    report = run(import_mask_folder(project, tmp_path / "imgs", as_="coldstart"))
    assert not report.imported and all("the image itself" in s.reason for s in report.skipped)


def test_import_masks_threshold_reads_multichannel_grey_maps(project, tmp_path, rgb_image):
    # RGB (or constant-alpha RGBA) grey maps are averaged over channels; the 0-255 range
    # must still be that of the file, not 0-1 of the floats the average makes.
    for i, name in enumerate(("grey", "rgb", "rgba")):
        _save(tmp_path / "imgs" / f"{name}.png", np.roll(rgb_image, i + 1, axis=1))
    run(import_images(project, tmp_path / "imgs"))
    ids = {Path(r.relpath).stem: r.id for r in project.images()}
    ramp = np.tile(np.linspace(0, 255, 60).round().astype(np.uint8), (40, 1))
    alpha = np.full_like(ramp, 255)
    _save(tmp_path / "pred" / "grey.png", ramp)
    _save(tmp_path / "pred" / "rgb.png", np.dstack([ramp] * 3))
    _save(tmp_path / "pred" / "rgba.png", np.dstack([ramp] * 3 + [alpha]))
    report = run(import_mask_folder(project, tmp_path / "pred", threshold=0.5))
    assert sorted(report.imported) == sorted(ids.values()) and not report.skipped
    grey = project.load_mask(ids["grey"])
    assert np.array_equal(grey, ramp >= 127.5) and abs(grey.mean() - 0.5) < 0.05
    assert np.array_equal(project.load_mask(ids["rgb"]), grey)
    assert np.array_equal(project.load_mask(ids["rgba"]), grey)


def test_import_masks_from_the_folder_of_the_images(project, tmp_path, rgb_image):
    # leaf1.jpg beside leaf1_mask.png: the image itself is passed over, its mask is used.
    imgs = tmp_path / "imgs"
    for i, name in enumerate(("leaf1", "leaf2")):
        _save(imgs / f"{name}.jpg", np.roll(rgb_image, i + 1, axis=1))
    run(import_images(project, imgs))
    ids = {Path(r.relpath).stem: r.id for r in project.images()}
    m = np.zeros((40, 60), np.uint8)
    m[5:25, 10:40] = 255
    _save(imgs / "leaf1_mask.png", m)
    report = run(import_mask_folder(project, imgs))
    assert report.imported == [ids["leaf1"]] and not report.unmatched
    assert np.array_equal(project.load_mask(ids["leaf1"]), m > 0)
    assert [Path(s.path).name for s in report.skipped] == ["leaf2.jpg"]  # no mask of its own
    assert "the image itself" in report.skipped[0].reason


def test_import_masks_flat_folder_with_shared_stems_is_ambiguous(project, tmp_path, rgb_image):
    for i, rel in enumerate(("a/leaf.png", "b/leaf.png")):
        _save(tmp_path / "imgs" / rel, np.roll(rgb_image, i + 1, axis=0))
    run(import_images(project, tmp_path / "imgs"))
    _save(tmp_path / "flat" / "leaf.png", np.full((40, 60), 255, np.uint8))
    report = run(import_mask_folder(project, tmp_path / "flat"))
    assert not report.imported and len(report.skipped) == 2
    assert "matches 2 images" in report.skipped[0].reason


def test_import_masks_errors(project, tmp_path):
    with pytest.raises(SpecimaskError, match="masks folder not found"):
        run(import_mask_folder(project, tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("x")
    with pytest.raises(SpecimaskError, match="no mask images here"):
        run(import_mask_folder(project, tmp_path / "empty"))
    write_mask_png(tmp_path / "m" / "stranger.png", np.ones((4, 4), bool))
    with pytest.raises(SpecimaskError, match="matches an image of the project"):
        run(import_mask_folder(project, tmp_path / "m"))
    with pytest.raises(SpecimaskError, match="unknown import kind"):
        run(import_mask_folder(project, tmp_path / "m", as_="truth"))
    with pytest.raises(SpecimaskError, match="threshold 50"):
        run(import_mask_folder(project, tmp_path / "m", threshold=50))


# -- exports ---------------------------------------------------------------------------


def _verified(demo):
    return {r.id: demo.load_mask(r.id) for r in demo.images() if demo.load_mask(r.id) is not None}


def test_cutouts_transparent_and_white_cropped(demo, tmp_path):
    masks = _verified(demo)
    report = run(export_cutouts(demo, tmp_path / "cut"))
    assert len(report.written) == len(masks) and report.without_mask == 8 - len(masks)
    rec = demo.images(role="val")[0]
    rgba = np.asarray(Image.open(tmp_path / "cut" / f"{rec.name}.png"))
    assert rgba.shape == (rec.height, rec.width, 4)
    assert np.array_equal(rgba[..., 3] > 0, masks[rec.id])
    assert np.array_equal(rgba[masks[rec.id], :3], demo.read_image(rec)[..., :3][masks[rec.id]])
    assert (rgba[~masks[rec.id]] == 0).all()

    report = run(export_cutouts(demo, tmp_path / "white", background="white", crop=True,
                                margin=3, jpeg=True))
    img = np.asarray(Image.open(tmp_path / "white" / f"{rec.name}.jpg"))
    rows, cols = np.flatnonzero(masks[rec.id].any(1)), np.flatnonzero(masks[rec.id].any(0))
    top, left = max(rows[0] - 3, 0), max(cols[0] - 3, 0)
    bottom = min(rows[-1] + 4, rec.height)
    right = min(cols[-1] + 4, rec.width)
    assert img.shape == (bottom - top, right - left, 3)
    outside = ~masks[rec.id][top:bottom, left:right]
    assert outside.any() and img[outside].mean() > 250  # white, give or take JPEG
    assert not list((tmp_path / "white").glob(".specimask-tmp-*"))
    with pytest.raises(SpecimaskError, match="JPEG has no transparency"):
        run(export_cutouts(demo, tmp_path / "x", jpeg=True))


def test_empty_masks_make_no_cutout(demo, tmp_path):
    rec = demo.images(role="pool")[0]
    demo.save_mask(rec.id, np.zeros((rec.height, rec.width), bool), "hand")
    report = run(export_cutouts(demo, tmp_path / "cut", role="pool"))
    assert report.empty == 1 and not report.written


@pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
def test_coco_round_trip(demo, tmp_path):
    from pycocotools import mask as coco_mask

    rec = demo.images(role="pool")[0]
    demo.save_mask(rec.id, np.zeros((rec.height, rec.width), bool), "hand")  # a negative
    masks = _verified(demo)
    report = run(export_coco(demo, tmp_path / "out"))
    target = tmp_path / "out" / "coco.json"
    assert report.written == [target] and report.images == len(masks)
    assert report.annotations == len(masks) - 1
    doc = json.loads(target.read_text())
    assert doc["categories"] == [{"id": 1, "name": "specimen", "supercategory": "specimen"}]
    assert {i["id"] for i in doc["images"]} == set(masks)
    by_id = {i["id"]: i for i in doc["images"]}
    for ann in doc["annotations"]:
        seg = dict(ann["segmentation"], counts=ann["segmentation"]["counts"].encode())
        decoded = coco_mask.decode(seg).astype(bool)
        truth = masks[ann["image_id"]]
        assert np.array_equal(decoded, truth)
        assert ann["area"] == truth.sum() and ann["iscrowd"] == 0 and ann["category_id"] == 1
        image = by_id[ann["image_id"]]
        assert (image["height"], image["width"]) == truth.shape
        assert image["file_name"] == demo.image(ann["image_id"]).relpath
        x, y, w, h = ann["bbox"]
        rows, cols = np.flatnonzero(truth.any(1)), np.flatnonzero(truth.any(0))
        assert (x, y, w, h) == (cols[0], rows[0], cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1)
    assert rec.id not in {a["image_id"] for a in doc["annotations"]}
    report = run(export(demo, tmp_path / "coldstart.json", "coco", which="coldstart", role="pool"))
    assert report.images == len(demo.images(role="pool"))
    assert (tmp_path / "coldstart.json").exists()


def test_provenance_records_the_round_and_the_proposal(demo, tmp_path):
    sel = run(select_next(demo, "random", 2, seed=0))
    first, second = (i for i, _ in sel.chosen)
    proposal = demo.load_mask(first, "proposal")
    edited = proposal.copy()
    edited[:5] = ~edited[:5]
    submit_mask(demo, first, edited, seconds=12.5, author="ana")
    submit_mask(demo, second, demo.load_mask(second, "proposal"), seconds=3.0)
    report = run(export_provenance(demo, tmp_path / "prov.csv"))
    n = len(_verified(demo))
    assert report.images == n and report.without_mask == 8 - n
    with open(tmp_path / "prov.csv", newline="") as fh:
        rows = {int(r["image_id"]): r for r in csv.DictReader(fh)}
    assert tuple(rows[first]) == PROVENANCE_COLUMNS
    row = rows[first]
    assert row["origin"] == "corrected" and row["author"] == "ana" and row["seconds"] == "12.5"
    assert row["iteration"] == str(sel.iteration) and row["proposal_source"] == "coldstart"
    assert 0 < float(row["edited_fraction"]) < 1 and 0 < float(row["proposal_dice"]) < 1
    assert row["sha256"] == demo.image(first).sha256 and row["mask_file"] == demo.mask_path(first).relative_to(demo.root).as_posix()
    assert rows[second]["origin"] == "accepted" and rows[second]["proposal_dice"] == "1.0"
    val = demo.images(role="val")[0]
    assert rows[val.id]["origin"] == "imported" and rows[val.id]["iteration"] == ""
    report = run(export_provenance(demo, tmp_path / "q", which="proposal", status="labeled"))
    with open(tmp_path / "q" / "provenance.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {int(r["image_id"]) for r in rows} == {first, second}
    assert all(r["origin"] == "proposal" and r["iteration"] == str(sel.iteration) for r in rows)

    # a mask imported later for a selected image is not credited to that selection
    demo.save_mask(first, edited, "imported", method="elsewhere")
    run(export_provenance(demo, tmp_path / "again.csv"))
    with open(tmp_path / "again.csv", newline="") as fh:
        row = {int(r["image_id"]): r for r in csv.DictReader(fh)}[first]
    assert row["origin"] == "imported" and row["iteration"] == "" and row["model_version"] == ""


def test_stopped_file_exports_write_nothing(demo, tmp_path):
    stop = threading.Event()
    stop.set()
    for job in (export_coco(demo, tmp_path / "c.json", stop=stop),
                export_provenance(demo, tmp_path / "p.csv", stop=stop)):
        assert run(job).stopped
    assert not (tmp_path / "c.json").exists() and not (tmp_path / "p.csv").exists()
    assert run(export_masks(demo, tmp_path / "m", stop=stop)).stopped
