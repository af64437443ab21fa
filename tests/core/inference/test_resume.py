"""Resumable prediction runs: the manifest, finishing only what is missing, and never
mixing two runs' outputs in one folder."""

from __future__ import annotations

import json
import os
import threading

import pytest

from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.inference.manifest import MANIFEST, folder_lock
from napari_specimask.core.inference.predict import predict_to_folder
from napari_specimask.core.io.atomic import TMP_MARK
from napari_specimask.core.progress import run


def _predict(project, out, images, **kw):
    kw.setdefault("maps", "full")
    return run(predict_to_folder(project, out, images_dir=images, batch_size=4, **kw))


def test_the_manifest_says_what_made_the_outputs(tmp_path, project, dark_model, demo_images):
    report = _predict(project, tmp_path / "out", demo_images, tta=2)
    data = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert data["model_version"] == "v001" and data["weights_sha256"] == "dark"
    assert data["options"] == {"threshold": 0.5, "tta": 2, "measure": "jsd", "maps": "full",
                               "mask_format": "png-1bit"}
    assert data["outputs"] == ["mask", "probability", "uncertainty"]
    assert data["complete"] is True and data["images"] == data["masks"] == 12
    assert data["source"] == str(demo_images.resolve()) and data["skipped"] == []
    assert report.maps == ("probability", "uncertainty")


def test_a_stopped_run_finishes_what_is_missing_with_the_same_files(tmp_path, project,
                                                                   dark_model, demo_images,
                                                                   kit):
    full = _predict(project, tmp_path / "full", demo_images)
    stop = threading.Event()
    job = predict_to_folder(project, tmp_path / "out", images_dir=demo_images, batch_size=4,
                            stop=stop, maps="full")
    for p in job:
        if p.done >= 3:
            stop.set()
    data = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert data["complete"] is False and 3 <= data["masks"] < 12
    again = _predict(project, tmp_path / "out", demo_images)
    assert again.kept == data["masks"] and len(again.written) == 12 - data["masks"]
    assert again.note.startswith(f"resuming: {data['masks']} of 12 image(s) already")
    assert kit.all_files(tmp_path / "out") == kit.all_files(tmp_path / "full")
    assert json.loads((tmp_path / "out" / MANIFEST).read_text())["complete"] is True
    done = _predict(project, tmp_path / "out", demo_images)
    assert done.written == [] and done.kept == 12 and len(full.written) == 12


def test_a_missing_or_stale_output_is_predicted_again(tmp_path, project, dark_model,
                                                      demo_images):
    _predict(project, tmp_path / "out", demo_images, workers=0)
    (tmp_path / "out" / "probability" / "plankton_000.png").unlink()
    stale = tmp_path / "out" / "herbarium_000.png"
    os.utime(stale, (1, 1))  # older than its image: the image changed since
    temp = tmp_path / "out" / f"{TMP_MARK}deadbeef.png"
    temp.write_bytes(b"half a mask")  # what a kill in the middle of a write leaves
    again = _predict(project, tmp_path / "out", demo_images, workers=0)
    assert sorted(again.written) == ["herbarium_000", "plankton_000"]
    assert not temp.exists()


def test_other_options_say_so_and_leave_no_outputs_of_the_first_run(tmp_path, project,
                                                                    dark_model, demo_images):
    _predict(project, tmp_path / "out", demo_images, tta=2)
    assert len(list((tmp_path / "out" / "uncertainty").glob("*.png"))) == 12
    again = _predict(project, tmp_path / "out", demo_images, threshold=0.3, maps="none")
    assert len(again.written) == 12 and again.kept == 0
    assert "held another run's outputs" in again.note and "threshold 0.5 -> 0.3" in again.note
    assert "tta 2 -> 1" in again.note and "probability, uncertainty maps removed" in again.note
    assert not list((tmp_path / "out").glob("*/*.png"))
    data = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert data["options"]["threshold"] == 0.3 and data["outputs"] == ["mask"]
    restarted = _predict(project, tmp_path / "out", demo_images, threshold=0.3, maps="none",
                         restart=True)
    assert len(restarted.written) == 12 and restarted.note == ""


def test_unreadable_images_are_skipped_every_time(tmp_path, project, dark_model,
                                                  demo_images):
    images = tmp_path / "images"
    images.mkdir()
    for p in sorted(demo_images.iterdir())[:3]:
        (images / p.name).write_bytes(p.read_bytes())
    (images / "broken.png").write_bytes(b"not a png")
    first = _predict(project, tmp_path / "out", images)
    assert len(first.written) == 3 and [p for p, _ in first.skipped] == [
        str(images / "broken.png")]
    again = _predict(project, tmp_path / "out", images)
    assert again.written == [] and again.kept == 3 and len(again.skipped) == 1


def test_one_run_per_output_folder(tmp_path, project, dark_model, demo_images):
    with folder_lock(tmp_path / "out"):
        with pytest.raises(SpecimaskError, match="another prediction run is writing there"):
            _predict(project, tmp_path / "out", demo_images)
    assert len(_predict(project, tmp_path / "out", demo_images).written) == 12
