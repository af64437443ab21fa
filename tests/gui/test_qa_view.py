"""The QA view: a table row shows labelled error panels of one or two versions and where
they disagree, in napari's grid, with the annotation layers put away until it closes."""

from __future__ import annotations

import shutil

import napari
import numpy as np
import pytest
from _gui import click
from qtpy.QtCore import Qt

pytestmark = pytest.mark.gui


@pytest.fixture(scope="module")
def two_versions_template(trained_demo_template, tmp_path_factory):
    """trained_demo with a second tiny version, v002 (active), and both versions' cached
    predictions of the val images replaced by known ones that disagree: v001 misses the
    top third of each specimen, v002 claims the left quarter of the background too (two
    tiny models often predict alike, which would leave nothing to compare)."""
    from napari_specimask.core.inference.qa import labelled_images
    from napari_specimask.core.io.images import write_image
    from napari_specimask.core.masks.letterbox import to_byte
    from napari_specimask.core.store.project import Project
    from napari_specimask.core.store.registry import activate
    from napari_specimask.core.training.config import TrainConfig
    from napari_specimask.core.training.fit import train

    root = shutil.copytree(trained_demo_template, tmp_path_factory.mktemp("two") / "demo")
    with Project.open(root) as p:
        cfg = TrainConfig.from_settings(p.settings, img_size=64, epochs=1, max_steps=2,
                                        batch_size=2, encoder_weights="none", patience=0)
        activate(p, train(p, cfg).version)
        for rec in labelled_images(p, "val"):
            truth = p.load_mask(rec.id)
            h, w = truth.shape
            v001, v002 = truth.copy(), truth.copy()
            v001[: h // 3] = False
            v002[:, : w // 4] = True
            for version, mask in (("v001", v001), ("v002", v002)):
                write_image(root / "cache" / version / "tta1" / "probability"
                            / f"{rec.id}.png", to_byte(mask.astype(np.float32)))
    return root


@pytest.fixture
def two_versions(two_versions_template, tmp_path):
    """A copy for this test alone (each may change its project)."""
    return shutil.copytree(two_versions_template, tmp_path / "demo")


def annotating(docked, qtbot, root):
    """The window as a person left it while annotating: an image in Annotate with its
    prediction overlay, and one overlay switched off by hand."""
    viewer, w, session = docked(root)
    w["Predictions"].tta.setValue(1)
    session.set_queue([r.id for r in session.project.images(role="pool")][:2])
    qtbot.waitUntil(lambda: "prediction" in viewer.layers, timeout=60_000)
    qtbot.waitUntil(lambda: w["Predictions"].worker is None, timeout=60_000)
    viewer.layers["prediction"].visible = False
    return viewer, w, session


def snapshot(viewer):
    """Each layer's name, visibility and a copy of its data, in list order."""
    return [(ly.name, ly.visible, np.array(ly.data, copy=True)) for ly in viewer.layers]


def assert_same(before, after):
    assert [(n, v) for n, v, _ in after] == [(n, v) for n, v, _ in before]
    assert all(np.array_equal(a, b) for (_, _, a), (_, _, b) in zip(before, after, strict=True))


def evaluate(qtbot, qa, compare=None):
    qa.split.setCurrentText("val")
    qa.version.setCurrentText("v002")
    qa.compare.setCurrentText(compare or "(none)")
    click(qtbot, qa.run_button)
    qtbot.waitUntil(lambda: qa.worker is None and bool(qa.rows), timeout=60_000)


def click_row(qtbot, qa, row: int):
    """Click a table row like a person, then wait for its panels."""
    rect = qa.table.visualRect(qa.proxy.index(row, 1))
    qtbot.mouseClick(qa.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: qa.worker is None and qa.view.is_open, timeout=60_000)
    return int(qa.proxy.index(row, 0).data())


def qa_layers(viewer, qa):
    return [ly for ly in viewer.layers if ly in qa.view.layers]


def test_a_row_shows_labelled_panels_and_close_gives_the_canvas_back(docked, qtbot,
                                                                     two_versions):
    viewer, w, session = annotating(docked, qtbot, two_versions)
    before = snapshot(viewer)
    qa = w["QA"]
    evaluate(qtbot, qa, compare="v001")
    image_id = click_row(qtbot, qa, 0)

    shown = qa_layers(viewer, qa)
    assert len(shown) == 6 and all(ly.visible for ly in shown)  # A, B and difference
    others = [ly for ly in viewer.layers if ly not in shown]
    assert [ly.name for ly in others] == [n for n, _, _ in before]
    assert not any(ly.visible for ly in others)  # the annotation is put away
    grid = viewer.canvas.grid
    assert grid.enabled and grid.stride == 2 and np.prod(grid.shape) >= 3
    # each cell an image under its map, the map's name shown as the cell's title
    cells = {grid.position(viewer.layers.index(ly), viewer.layers) for ly in shown}
    assert len(cells) == 3
    for below, above in zip(shown[::2], shown[1::2], strict=True):
        assert isinstance(below, napari.layers.Image) and below.rgb
        assert isinstance(above, napari.layers.Labels)
        assert (grid.position(viewer.layers.index(below), viewer.layers)
                == grid.position(viewer.layers.index(above), viewer.layers))
        assert above.name_overlay.visible and not below.name_overlay.visible
    row = next(r for r in qa.rows if r.image_id == image_id)
    labels = [ly.name for ly in shown[1::2]]
    assert labels[0] == f"v002 errors · Dice {row.dice:.4f}"
    assert labels[1].startswith("v001 errors · Dice ")
    assert labels[2].startswith("v002 vs v001 · ") and labels[2].endswith("% differ")
    assert "v002 right, v001 wrong" in qa.difference_legend.text()

    click(qtbot, qa.close_button)
    assert qa_layers(viewer, qa) == [] and not qa.view.is_open
    assert not any(ly.name.startswith(("v001", "v002", "qa ")) for ly in viewer.layers)
    assert not viewer.canvas.grid.enabled
    assert_same(before, snapshot(viewer))  # "prediction" stays off, the rest back on
    assert viewer.layers.selection.active is viewer.layers["mask"]
    assert viewer.layers["mask"].mode == "paint"
    assert not qa.close_button.isEnabled()


def test_the_difference_panel_marks_exactly_the_disagreeing_pixels(docked, qtbot,
                                                                   two_versions):
    from napari_specimask.core.inference.cache import cached_prediction
    from napari_specimask.core.inference.qa import A_RIGHT, B_RIGHT, FN, FP, TP
    from napari_specimask.core.masks.metrics import dice_iou

    viewer, w, session = docked(two_versions)
    qa = w["QA"]
    evaluate(qtbot, qa, compare="v001")
    image_id = click_row(qtbot, qa, 0)
    project = session.project
    truth = project.load_mask(image_id)
    a = cached_prediction(project, "v002", image_id, 1).mask
    b = cached_prediction(project, "v001", image_id, 1).mask
    assert (a != b).any()  # the fixture made them disagree

    errors_a, errors_b, diff = (ly.data for ly in qa.view.layers[1::2])
    assert np.array_equal(errors_a == TP, a & truth) and np.array_equal(errors_a == FP, a & ~truth)
    assert np.array_equal(errors_b == FN, ~b & truth)
    assert np.array_equal(diff > 0, a != b)
    assert np.array_equal(diff == A_RIGHT, (a != b) & (a == truth))
    assert np.array_equal(diff == B_RIGHT, (a != b) & (b == truth))
    assert qa.view.layers[3].name == f"v001 errors · Dice {dice_iou(b, truth)[0]:.4f}"
    share = 100 * np.count_nonzero(a != b) / a.size
    assert qa.view.layers[5].name == f"v002 vs v001 · {share:.1f}% differ"

    # without "compare with", one panel: the version's errors alone
    qa.compare.setCurrentText("(none)")
    click_row(qtbot, qa, 1)
    qtbot.waitUntil(lambda: len(qa.view.layers) == 2, timeout=60_000)
    assert len(qa_layers(viewer, qa)) == 2 and qa.view.layers[1].name.startswith("v002 errors")
    assert qa.difference_legend.text() == ""


def test_closing_the_dock_switching_project_or_annotating_closes_the_view(docked, qtbot,
                                                                         two_versions, idle):
    viewer, w, session = annotating(docked, qtbot, two_versions)
    before = snapshot(viewer)
    qa = w["QA"]
    evaluate(qtbot, qa)

    click_row(qtbot, qa, 0)
    click(qtbot, w["Annotate"].buttons["next"])  # back to annotating
    idle(w["Annotate"])
    assert not qa.view.is_open and qa_layers(viewer, qa) == []
    assert [ly.name for ly in viewer.layers] == [n for n, _, _ in before]
    assert viewer.layers["image"].visible and viewer.layers["mask"].visible

    click_row(qtbot, qa, 0)
    w["Project"].open_project(two_versions)  # another project (here: the same, again)
    assert not qa.view.is_open and not viewer.canvas.grid.enabled
    assert not any(ly.name.startswith(("v002", "qa ")) for ly in viewer.layers)

    evaluate(qtbot, qa)
    click_row(qtbot, qa, 0)
    viewer.window.remove_dock_widget(qa)  # the dock's close button
    assert not qa.view.is_open and not viewer.canvas.grid.enabled
    assert not any(ly.name.startswith(("v002", "qa ")) for ly in viewer.layers)


def test_raising_another_tab_or_hiding_the_dock_closes_the_view(docked, qtbot, two_versions):
    from napari_specimask._launch import raise_tab

    viewer, w, session = docked(two_versions)
    viewer.window.show()
    qa = w["QA"]
    raise_tab(viewer, "QA")
    evaluate(qtbot, qa)
    click_row(qtbot, qa, 0)
    raise_tab(viewer, "Annotate")  # the QA dock goes behind another tab
    qtbot.waitUntil(lambda: not qa.view.is_open, timeout=10_000)
    assert qa_layers(viewer, qa) == [] and not viewer.canvas.grid.enabled

    raise_tab(viewer, "QA")
    click_row(qtbot, qa, 0)
    qa.parent().hide()  # View > the dock's menu entry, unticked
    qtbot.waitUntil(lambda: not qa.view.is_open, timeout=10_000)
    assert qa_layers(viewer, qa) == [] and not viewer.canvas.grid.enabled


def test_layers_shown_or_added_meanwhile_wait_for_the_view_to_close(docked, qtbot,
                                                                    two_versions):
    viewer, w, session = annotating(docked, qtbot, two_versions)
    qa = w["QA"]
    evaluate(qtbot, qa)
    click_row(qtbot, qa, 0)
    viewer.layers["prediction"].visible = True  # another widget (or a hotkey) shows it
    viewer.layers["image"].visible = False  # ... or hides one
    added = viewer.add_points([[1, 1]], name="added meanwhile")
    assert not viewer.layers["prediction"].visible and not added.visible
    assert [ly.visible for ly in viewer.layers if ly not in qa.view.layers] == [False] * 4
    click(qtbot, qa.close_button)
    shown = {ly.name: ly.visible for ly in viewer.layers}
    assert shown == {"image": False, "prediction": True, "mask": True, "added meanwhile": True}
