"""A person's first minutes in napari alone: New project... makes the folder it is given and
the added images come with cold-start proposals (old code: "Directory not found", and no
proposals, so Annotate had nothing to show)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from qtpy.QtCore import Qt

pytestmark = pytest.mark.gui

SHEETS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "violaceae_pool"


def _images(folder: Path) -> Path:
    """Three real herbarium sheets where the pool is at hand, else synthetic ones."""
    folder.mkdir()
    real = sorted(SHEETS.glob("*.jpg"))[:3]
    for path in real:
        shutil.copy(path, folder / path.name)
    if not real:
        from napari_specimask.core.io.images import write_image
        for k in range(3):
            img = np.full((60, 80, 3), 230, np.uint8)
            img[10 + k:40, 20:60] = (40, 90, 30)
            write_image(folder / f"sheet{k}.png", img)
    return folder


def test_new_project_makes_its_folder_and_proposals(make_napari_viewer, qtbot, tmp_path,
                                                    monkeypatch):
    from qtpy.QtWidgets import QFileDialog

    from napari_specimask._launch import dock_widgets
    from napari_specimask._widgets._session import session_for
    from napari_specimask.core.store.project import Project

    images = _images(tmp_path / "sheets")
    root = tmp_path / "herbarium" / "violaceae"  # does not exist yet, nor its parent
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(root), ""))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(images))
    viewer = make_napari_viewer()
    w = dock_widgets(viewer)
    session = session_for(viewer)
    qtbot.mouseClick(w["Project"].new_button, Qt.MouseButton.LeftButton)
    assert session.project is not None and session.project.root == root.resolve()
    qtbot.waitUntil(lambda: "cold-start proposals" in w["Project"].title.text(),
                    timeout=120_000)
    qtbot.waitUntil(lambda: session.canvas is not None, timeout=30_000)
    # the canvas shows the first image with its proposal (old: empty, "select a batch")
    first = session.project.images()[0]
    assert w["Annotate"].image_id == first.id and "mask" in viewer.layers
    assert np.array_equal(viewer.layers["mask"].data > 0,
                          session.project.load_mask(first.id, "coldstart"))
    assert "showing its cold-start proposal" in w["Annotate"].status.text()
    with Project.open(root) as p:
        records = p.images()
        assert len(records) == 3
        assert all(p.mask_path(r.id, "coldstart") is not None for r in records)
        # chosen on these images, not a fixed default (old: `background`, Dice 0.22 on
        # real sheets); new projects train offline by default (old: `imagenet`)
        assert p.settings.coldstart.method in ("otsu", "kmeans", "background")
        if (images / "V01_01_004.jpg").exists():
            assert p.settings.coldstart.method != "background"
        assert p.settings.model.encoder_weights == "auto"
    assert w["Train"].form.encoder_weights.value == "auto"


def test_adding_a_folder_again_adds_nothing_and_says_so(docked, qtbot, demo):
    """Old code: the job returned a pair where the widget unpacked three values, so the
    line stayed on the import and an error appeared instead of 'added 0'."""
    viewer, w, session = docked(demo)
    project_w = w["Project"]
    before = len(session.project.images())
    project_w.add_folder(demo / "images" / "pool")  # every image is in the project already
    qtbot.waitUntil(lambda: "added 0" in project_w.title.text(), timeout=60_000)
    assert len(session.project.images()) == before
    assert "added 0 with 'background' cold-start proposals, skipped" in project_w.title.text()


def test_new_project_over_an_existing_one_says_so(make_napari_viewer, tmp_path, monkeypatch):
    from napari_specimask._launch import dock_widgets
    from napari_specimask._widgets import project_widget
    from napari_specimask.core.store.project import Project

    Project.create(tmp_path / "p").close()
    said = []
    monkeypatch.setattr(project_widget, "show_error", said.append)
    w = dock_widgets(make_napari_viewer())
    w["Project"].new_project(tmp_path / "p")
    assert len(said) == 1 and "a project already exists here" in said[0]


def test_the_default_strategy_without_a_model_draws_a_random_batch(docked, qtbot, demo):
    """Old code: two identical error toasts and a status stuck on 'drawing a random
    batch...'."""
    from napari.utils.notifications import notification_manager

    viewer, w, session = docked(demo)
    al = w["Active learning"]
    assert al.strategy.currentText() == "stochastic" and session.active_model is None
    seen = len(notification_manager.records)
    qtbot.mouseClick(al.select_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: al.worker is None, timeout=60_000)
    assert "queued by random" in al.state.text() and "no trained model yet" in al.state.text()
    assert session.queue and len(session.queue) <= al.batch_size.value()
    assert not [r for r in notification_manager.records[seen:] if "error" in str(r.type)]


def test_the_status_line_says_what_a_save_did(docked, qtbot, demo, idle):
    """Old code: the line still said 'queued; showing its proposal' after the save."""
    viewer, w, session = docked(demo)
    session.set_queue([r.id for r in session.project.images(role="pool")][:2])
    annotate = w["Annotate"]
    idle(annotate)
    assert "queued" in annotate.status.text() or "unlabeled" in annotate.status.text()
    qtbot.mouseClick(annotate.buttons["save"], Qt.MouseButton.LeftButton)
    assert "saving" in annotate.status.text()  # written in the background
    idle(annotate)
    assert "(labeled); saved as" in annotate.status.text()


def test_training_errors_name_the_controls_of_the_form(docked, qtbot, demo, monkeypatch):
    """Old code: 'add --use-cold-start', a flag, where the form says 'also train on cold-start
    masks'; 'pass --no-val' with no control named."""
    from napari_specimask._widgets import _jobs

    viewer, w, session = docked(demo)
    train = w["Train"]
    said = []
    monkeypatch.setattr(_jobs, "show_error", said.append)
    train.form.encoder_weights.value = "none"
    train.start()  # the demo's pool has no verified masks
    qtbot.waitUntil(lambda: train.worker is None, timeout=60_000)
    assert len(said) == 1 and "tick 'also train on cold-start masks'" in said[0]
    assert train.form.use_cold_start.label == "also train on cold-start masks"
    session.project.set_role([r.id for r in session.project.images(role="val")], "test")
    train.form.use_cold_start.value = True
    train.start()
    qtbot.waitUntil(lambda: train.worker is None, timeout=60_000)
    assert "untick 'require validation images'" in said[1]
    assert train.form.require_val.label == "require validation images"
