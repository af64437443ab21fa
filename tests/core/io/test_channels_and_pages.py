"""Odd channel counts and multi-page TIFFs: RGB for the network, or one line saying why not.

2 channels are grey + alpha (read as RGBA, alpha dropped for the network); CMYK becomes
RGB; 4+ channels that are not colour, 5+ channels and float pixels are refused.
"""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from PIL import Image

from napari_specimask.core.coldstart.methods import ColdStart
from napari_specimask.core.coldstart.proposals import propose_masks
from napari_specimask.core.errors import ImageReadError
from napari_specimask.core.exchange.image_import import import_images
from napari_specimask.core.io.images import read_image, read_mask, to_rgb8
from napari_specimask.core.progress import run

RNG = np.random.default_rng(3)
GREY = RNG.integers(0, 255, (21, 33), np.uint8)
ALPHA = np.where(RNG.random((21, 33)) > 0.5, 255, 0).astype(np.uint8)


@pytest.mark.parametrize("planar", [False, True])
def test_grey_alpha_tiff_is_rgba_and_rgb_for_the_network(tmp_path, planar):
    data = np.stack([GREY, ALPHA], axis=0 if planar else -1)
    tifffile.imwrite(tmp_path / "la.tif", data, photometric="minisblack",
                     planarconfig="separate" if planar else "contig", extrasamples=["unassalpha"])
    img = read_image(tmp_path / "la.tif")
    assert img.shape == (21, 33, 4)
    assert np.array_equal(img[..., 3], ALPHA) and all(np.array_equal(img[..., c], GREY)
                                                      for c in range(3))
    rgb = to_rgb8(img)
    assert rgb.shape == (21, 33, 3) and np.array_equal(rgb[..., 1], GREY)  # alpha dropped


def test_grey_alpha_png_and_arrays_give_three_channels(tmp_path):
    Image.fromarray(np.dstack([GREY, ALPHA]), mode="LA").save(tmp_path / "la.png")
    assert to_rgb8(read_image(tmp_path / "la.png")).shape == (21, 33, 3)
    assert to_rgb8(np.dstack([GREY, ALPHA])).shape == (21, 33, 3)  # from anywhere else


def test_grey_alpha_mask_uses_the_shape_it_carries(tmp_path):
    tifffile.imwrite(tmp_path / "m.tif", np.dstack([np.zeros_like(ALPHA), ALPHA]),
                     photometric="minisblack", extrasamples=["unassalpha"])
    assert np.array_equal(read_mask(tmp_path / "m.tif"), ALPHA > 0)


def test_propose_on_a_grey_alpha_tiff(project, tmp_path):
    sheet = np.full((40, 60), 230, np.uint8)
    sheet[10:30, 15:45] = 40
    (tmp_path / "scans").mkdir()
    tifffile.imwrite(tmp_path / "scans" / "la.tif", np.dstack([sheet, np.full_like(sheet, 255)]),
                     photometric="minisblack", extrasamples=["unassalpha"])
    assert len(run(import_images(project, tmp_path / "scans")).added) == 1
    assert run(propose_masks(project, ColdStart())) == 1


def test_rgba16_is_stretched_by_its_colour_not_its_alpha():
    img = np.zeros((2, 2, 4), np.uint16)
    img[0, :, :3], img[1, :, :3] = 1000, 4000  # a 12-bit camera
    img[..., 3] = 65535  # opaque
    assert tuple(to_rgb8(img)[:, 0, 0]) == (0, 255)


def test_cmyk_tiff_becomes_rgb(tmp_path):
    cmyk = np.zeros((4, 5, 4), np.uint8)
    cmyk[0, 0] = (255, 0, 255, 0)  # cyan + yellow ink: green
    tifffile.imwrite(tmp_path / "c.tif", cmyk, photometric="separated")
    img = read_image(tmp_path / "c.tif")
    assert img.shape == (4, 5, 3) and tuple(img[0, 0]) == (0, 255, 0)
    assert tuple(img[1, 1]) == (255, 255, 255)  # no ink: paper white


@pytest.mark.parametrize("channels", [4, 5, 7])
def test_channels_that_are_not_colour_are_one_line(tmp_path, channels):
    data = RNG.integers(0, 255, (6, 7, channels), np.uint8)
    tifffile.imwrite(tmp_path / "stack.tif", data, photometric="minisblack",
                     planarconfig="contig")
    with pytest.raises(ImageReadError, match=f"{channels} channels.*save it as RGB") as err:
        read_image(tmp_path / "stack.tif")
    assert "stack.tif" in str(err.value) and "\n" not in str(err.value)


def test_rgb_with_extra_samples_keeps_rgb_and_alpha(tmp_path):
    data = RNG.integers(0, 255, (6, 7, 5), np.uint8)
    tifffile.imwrite(tmp_path / "x.tif", data, photometric="rgb",
                     extrasamples=["unassalpha", "unspecified"])
    assert np.array_equal(read_image(tmp_path / "x.tif"), data[..., :4])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.uint32])
def test_other_pixel_types_are_one_line(tmp_path, dtype):
    tifffile.imwrite(tmp_path / "f.tif", np.ones((5, 6), dtype))
    with pytest.raises(ImageReadError, match="unsupported pixel type.*8- or 16-bit"):
        read_image(tmp_path / "f.tif")


def test_sixteen_bit_grey_and_rgb_give_rgb8(tmp_path):
    for shape, photometric in (((5, 6), "minisblack"), ((5, 6, 3), "rgb")):
        tifffile.imwrite(tmp_path / "s.tif", RNG.integers(0, 4095, shape).astype(np.uint16),
                         photometric=photometric)
        rgb = to_rgb8(read_image(tmp_path / "s.tif"))
        assert rgb.shape == (5, 6, 3) and rgb.dtype == np.uint8 and rgb.max() == 255


# -- multi-page TIFFs ------------------------------------------------------------------


def test_multipage_tiff_first_page_is_used_and_reported(project, tmp_path):
    d = tmp_path / "scans"
    d.mkdir()
    pages = RNG.integers(0, 255, (3, 12, 16), np.uint8)
    tifffile.imwrite(d / "stack.tif", pages, photometric="minisblack")
    tifffile.imwrite(d / "single.tif", pages[0, :8], photometric="minisblack")
    assert np.array_equal(read_image(d / "stack.tif"), pages[0])
    report = run(import_images(project, d))
    assert len(report.added) == 2
    notes = [(s.path, s.reason) for s in report.skipped]
    assert notes == [(str(d / "stack.tif"), "2 more page(s) of this TIFF ignored; the first "
                                            "page is used")]
    again = run(import_images(project, d))  # not imported again: no note, only duplicates
    assert not any("page" in s.reason for s in again.skipped)
