"""Cold-start methods and post-processing on synthetic specimens."""

from __future__ import annotations

import numpy as np
import pytest

from napari_specimask.core.coldstart.methods import (
    METHODS,
    ColdStart,
    background_mask,
    drop_bottom_bar,
    kmeans_mask,
    otsu_mask,
)
from napari_specimask.core.coldstart.proposals import propose_masks
from napari_specimask.core.demo.herbarium import make_herbarium_sheet
from napari_specimask.core.demo.plankton import make_plankton
from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.masks.metrics import dice_iou
from napari_specimask.core.masks.postprocess import PostProcess, postprocess
from napari_specimask.core.progress import run


def _blob_image(h=64, w=64):
    img = np.full((h, w, 3), 235, np.uint8)
    truth = np.zeros((h, w), bool)
    truth[16:48, 20:44] = True
    img[truth] = (60, 110, 50)
    return img, truth


@pytest.mark.parametrize("method", list(METHODS))
def test_each_method_finds_a_clear_specimen(method):
    img, truth = _blob_image()
    assert dice_iou(METHODS[method](img), truth)[0] > 0.95


def test_uniform_image_gives_empty_mask():
    flat = np.full((32, 32, 3), 200, np.uint8)
    for fn in (otsu_mask, background_mask, kmeans_mask):
        assert not fn(flat).any()


def test_background_method_drops_scale_bar_but_keeps_specimen():
    img, truth = _blob_image()
    img[-3:, 2:30] = 20  # scale bar on the bottom border
    with_bar = background_mask(img, remove_scale_bar=False)
    assert with_bar[-2, 10]
    mask = background_mask(img)
    assert not mask[-3:].any() and dice_iou(mask, truth)[0] > 0.95


def test_drop_bottom_bar_keeps_tall_objects_touching_bottom():
    m = np.zeros((50, 50), bool)
    m[20:50, 20:26] = True  # a stalk reaching the border: tall, not a bar
    m[47:50, 0:15] = True   # a flat bar
    out = drop_bottom_bar(m)
    assert out[30:50, 20:26].all() and not out[47:50, 0:15].any()


def test_kmeans_is_deterministic_for_a_seed():
    img, _ = make_plankton(np.random.default_rng(3))
    assert np.array_equal(kmeans_mask(img, seed=1), kmeans_mask(img, seed=1))


def test_methods_on_demo_specimens_are_plausible():
    rng = np.random.default_rng(5)
    herb, herb_truth = make_herbarium_sheet(rng)
    plank, plank_truth = make_plankton(rng)
    assert dice_iou(otsu_mask(herb), herb_truth)[0] > 0.3
    assert dice_iou(background_mask(plank), plank_truth)[0] > 0.4


def test_postprocess_dilation_fill_and_specks():
    m = np.zeros((40, 40), bool)
    m[10:20, 10:20] = True
    m[14:16, 14:16] = False   # a hole
    m[30, 30] = True          # a speck (3 x 3 = 9 px once dilated)
    out = postprocess(m, kernel=3, iters=1, fill_holes=True, min_size=10)
    assert out[14, 14] and not out[30, 30]
    assert out.sum() == 12 * 12  # 10x10 square grown by one pixel each side
    assert postprocess(m, kernel=5, iters=2, fill_holes=False, min_size=0).sum() == 18 * 18 + 81
    with pytest.raises(ValueError):
        PostProcess(kernel=0)


def test_unknown_method_is_a_clear_error():
    with pytest.raises(SpecimaskError, match="otsu, background, kmeans"):
        ColdStart("watershed")


def test_propose_stores_cold_start_masks(project, tmp_path, rgb_image):
    from PIL import Image

    from napari_specimask.core.exchange.image_import import import_images

    (tmp_path / "i").mkdir()
    Image.fromarray(rgb_image).save(tmp_path / "i" / "a.png")
    run(import_images(project, tmp_path / "i"))
    assert run(propose_masks(project, ColdStart("otsu"))) == 1
    ann = project.annotations(1)[0]
    assert ann["origin"] == "coldstart" and ann["method"] == "otsu"
    assert project.load_mask(1, "coldstart").sum() > 0 and project.load_mask(1) is None
    assert project.image(1).status == "unlabeled"  # proposals are not verified masks


def test_a_dark_frame_around_a_sheet_is_dropped_before_holes_are_filled():
    """Real sheets photographed on a table: otsu takes the frame in; hole filling inside
    it would then fill the whole sheet."""
    from napari_specimask.core.masks.postprocess import drop_border_objects

    img = np.full((64, 64, 3), 235, np.uint8)
    img[:, :6] = img[:, -6:] = img[:6] = img[-6:] = 60     # the dark table around the sheet
    img[24:40, 20:44] = (40, 90, 30)                         # the plant
    plant = np.zeros((64, 64), bool)
    plant[24:40, 20:44] = True
    framed = ColdStart("otsu", PostProcess(fill_holes=True, min_size=0))(img)
    assert framed.all()   # frame + holes filled: everything
    clean = ColdStart("otsu", PostProcess(fill_holes=True, min_size=0, drop_frame=True))(img)
    assert np.array_equal(clean, plant)
    # a specimen touching one edge (a tight plankton crop) stays
    edge = np.zeros((64, 64), bool)
    edge[20:44, 0:30] = True
    assert np.array_equal(drop_border_objects(edge), edge)


def test_cold_start_settings_carry_the_frame_choice():
    from napari_specimask.core.settings import ColdStartSettings

    cs = ColdStartSettings(method="otsu")
    assert ColdStart.from_settings(cs).post.drop_frame is True   # measured default
    assert ColdStart.from_settings(cs, drop_frame=False).post.drop_frame is False
