"""A malformed Label Studio export: one line naming the file and the task, and the
import goes on with the other tasks."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.exchange.image_import import import_images
from napari_specimask.core.exchange.labelstudio_import import import_labelstudio
from napari_specimask.core.progress import run

DATA = Path(__file__).parents[2] / "data"
TASKS = json.loads((DATA / "labelstudio_export.json").read_text())


@pytest.fixture
def ls_project(project, tmp_path):
    rng = np.random.default_rng(1)
    (tmp_path / "scans").mkdir()
    for name in ("leaf1", "leaf2", "leaf3", "leaf4"):
        Image.fromarray(rng.integers(0, 255, (23, 37, 3), np.uint8)).save(
            tmp_path / "scans" / f"{name}.png")
    run(import_images(project, tmp_path / "scans"))
    return project


def _export(tmp_path, break_task) -> Path:
    """The test export plus a good copy of task 11 for leaf4 (task 99); ``break_task``
    then damages task 11."""
    tasks = copy.deepcopy(TASKS)
    good = copy.deepcopy(tasks[0]) | {"id": 99, "data": {"image": "/data/upload/1/leaf4.png"}}
    good.pop("file_upload")
    tasks.append(good)
    break_task(tasks[0])
    path = tmp_path / "export.json"
    path.write_text(json.dumps(tasks))  # json writes inf / nan as Infinity / NaN
    return path


def _latest_results(task):
    return task["annotations"][1]["result"]


def _set_size(key, value):
    return lambda task: [r.__setitem__(key, value) for r in _latest_results(task)]


def _drop_size(task):
    for r in _latest_results(task):
        del r["original_width"]


@pytest.mark.parametrize("break_task, says", [
    (lambda t: t.__setitem__("annotations", 5), "its 'annotations' is 5, not a list"),
    (lambda t: t.__setitem__("annotations", {"id": 1}), "its 'annotations' is a dict"),
    (lambda t: t["annotations"][1].__setitem__("result", 5), "'result' is 5, not a list"),
    (_set_size("original_width", float("inf")), "original_width is Infinity, not a whole"),
    (_set_size("original_width", float("nan")), "original_width is NaN"),
    (_set_size("original_width", -37), "original_width is -37"),
    (_set_size("original_height", 23.5), "original_height is 23.5"),
    (_set_size("original_width", "wide"), 'original_width is "wide"'),
    (_set_size("original_width", True), "original_width is true"),
    (_set_size("original_width", [37]), "original_width is a list"),
    (_drop_size, "original_width is missing"),
])
def test_malformed_task_is_skipped_naming_file_and_task(ls_project, tmp_path, break_task,
                                                        says):
    path = _export(tmp_path, break_task)
    report = run(import_labelstudio(ls_project, path))
    ids = {Path(r.relpath).stem: r.id for r in ls_project.images()}
    assert report.imported == [ids["leaf4"]]  # the other tasks went on
    bad = [s for s in report.skipped if s.path.startswith("task 11 ")]
    assert len(bad) == 1 and bad[0].reason.startswith(f"{path}: ")
    assert says in bad[0].reason and "\n" not in bad[0].reason


@pytest.mark.parametrize("content, says", [
    ("5", "expected a list of tasks"),
    ("null", "expected a list of tasks"),
    ('"tasks"', "expected a list of tasks"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('[{"data": {"image": "leaf1.png"}}, 5]', "expected a list of tasks"),
])
def test_wrong_top_level_is_one_line_naming_the_file(ls_project, tmp_path, content, says):
    path = tmp_path / "export.json"
    path.write_text(content)
    with pytest.raises(SpecimaskError, match=says) as err:
        run(import_labelstudio(ls_project, path))
    assert str(err.value).startswith(f"{path}: ") and "\n" not in str(err.value)


def test_an_rle_that_is_a_number_is_not_bytes(ls_project, tmp_path):
    def rle_number(task):
        for r in _latest_results(task):
            r["value"]["rle"] = 10**12  # bytes(10**12) would try to allocate a terabyte

    report = run(import_labelstudio(ls_project, _export(tmp_path, rle_number)))
    assert [s.reason for s in report.skipped if s.path.startswith("task 11 ")] == [
        "brush RLE must be a list of bytes (integers 0-255)"]


def test_a_url_that_does_not_parse_still_names_its_file(ls_project, tmp_path):
    def bad_url(task):
        task["data"]["image"] = "http://[leaf1/3f2a9c1d-leaf1.png"  # urlparse raises here

    report = run(import_labelstudio(ls_project, _export(tmp_path, bad_url)))
    assert len(report.imported) == 2  # leaf1 found by the upload's name, leaf4
