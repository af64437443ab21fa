"""Fuzzing the Label Studio importer: whatever the JSON, only a SpecimaskError comes out
(one line), and a run that finishes reports every task somewhere."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.exchange.brush_rle import mask_to_rle
from napari_specimask.core.exchange.image_import import import_images
from napari_specimask.core.exchange.labelstudio_import import import_labelstudio
from napari_specimask.core.progress import run
from napari_specimask.core.store.project import Project

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
H, W = 23, 37
NAMES = ["leaf1.png", "leaf2.png", "3f2a9c1d-leaf3.png", "/data/upload/1/ab12cd34-leaf4.png",
         "/data/local-files/?d=scans/leaf1.png", "http://[bad/leaf2.png", "other.jpg", ""]

scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
           | st.sampled_from(NAMES))
anything = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


def _or_anything(strategy):
    """Mostly the shape Label Studio writes, now and then any JSON value: the importer's
    deeper checks are reached, and each of them is tried with junk."""
    return st.integers(0, 9).flatmap(lambda k: anything if k == 0 else strategy)


RLE = mask_to_rle(np.eye(H, W, dtype=bool))
results = st.fixed_dictionaries({
    "type": _or_anything(st.sampled_from(["brushlabels", "brush", "rectanglelabels"])),
    "original_width": _or_anything(st.sampled_from([W, H, 0, -W, 1e300, 37.0])),
    "original_height": _or_anything(st.sampled_from([H, W, 1])),
    "value": _or_anything(st.fixed_dictionaries({
        "format": _or_anything(st.just("rle")),
        "rle": _or_anything(st.sampled_from([RLE, RLE[:-3], [], [256], "AAAA", "!!"])),
        "brushlabels": _or_anything(st.lists(st.sampled_from(["Specimen", "Tape"]))),
    })),
}, optional={"id": anything})
annotations = st.fixed_dictionaries({
    "result": _or_anything(st.lists(_or_anything(results), min_size=1, max_size=3)),
}, optional={"id": anything, "was_cancelled": anything, "updated_at": anything,
             "completed_by": anything})
tasks = st.fixed_dictionaries({
    "data": _or_anything(st.fixed_dictionaries({"image": _or_anything(st.sampled_from(NAMES))})),
    "annotations": _or_anything(st.lists(_or_anything(annotations), min_size=1, max_size=3)),
}, optional={"id": anything, "file_upload": anything})
exports = _or_anything(st.lists(_or_anything(tasks), min_size=1, max_size=5))


@pytest.fixture(scope="module")
def ls_project():
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / "scans").mkdir()
        rng = np.random.default_rng(1)
        for name in ("leaf1", "leaf2", "leaf3", "leaf4"):
            Image.fromarray(rng.integers(0, 255, (H, W, 3), np.uint8)).save(
                root / "scans" / f"{name}.png")
        project = Project.create(root / "proj")
        run(import_images(project, root / "scans"))
        yield project
        project.close()


@FUZZ
@given(export=exports, label=st.sampled_from([None, "Specimen", "Leaf"]),
       overwrite=st.booleans(), as_=st.sampled_from(["labels", "coldstart"]))
def test_any_json_gives_a_report_or_one_line(ls_project, export, label, overwrite, as_):
    path = ls_project.root.parent / "export.json"
    path.write_text(json.dumps(export))
    try:
        report = run(import_labelstudio(ls_project, path, label, as_, overwrite=overwrite))
    except SpecimaskError as exc:
        assert "\n" not in str(exc)
        return
    said = (report.skipped, report.unmatched, report.without_mask)
    assert all("\n" not in (s.reason if hasattr(s, "reason") else s)
               for group in said for s in group)


@FUZZ
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_any_text_gives_a_report_or_one_line(ls_project, text):
    path = ls_project.root.parent / "text.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        run(import_labelstudio(ls_project, path))
    except SpecimaskError as exc:
        assert "\n" not in str(exc)
