"""Images come in ready to correct: imported, then given cold-start proposals."""

from __future__ import annotations

import numpy as np

from napari_specimask.core.exchange.add_images import add_images
from napari_specimask.core.io.images import write_image, write_mask_png
from napari_specimask.core.progress import run
from napari_specimask.core.store.project import Project
from napari_specimask.core.vocabulary import MaskKind


def _sheets(folder, n, top=8):
    img = np.full((40, 48, 3), 225, np.uint8)
    for k in range(n):
        sheet = img.copy()
        sheet[top:30, 6 + k : 30 + k] = 35  # a dark specimen on light paper
        write_image(folder / f"s{k}.png", sheet)


def test_new_images_get_proposals_and_the_method_is_chosen_once(tmp_path):
    _sheets(tmp_path / "a", 3)
    _sheets(tmp_path / "b", 2, top=4)
    truth = np.zeros((40, 48), bool)
    write_mask_png(tmp_path / "b_masks" / "s0.png", truth)
    with Project.create(tmp_path / "p") as project:
        first = run(add_images(project, tmp_path / "a"))
        assert first.choice is not None and first.method == first.choice.method
        assert first.method == project.settings.coldstart.method != "auto"
        assert first.proposed == 3 and len(first.imported.added) == 3
        for i in first.imported.added:
            assert project.load_mask(i, MaskKind.COLD_START).any()
        again = run(add_images(project, tmp_path / "a"))  # nothing new: nothing done
        assert again.imported.added == [] and again.proposed == 0 and again.choice is None
        more = run(add_images(project, tmp_path / "b", tmp_path / "b_masks"))
        assert more.choice is None and more.proposed == 1  # s0 came with its own mask
        verified = project.image_ids(status="labeled")
        assert len(verified) == 1 and project.load_mask(verified[0], MaskKind.COLD_START) is None


def test_import_only_leaves_the_new_images_without_proposals(tmp_path):
    _sheets(tmp_path / "a", 2)
    with Project.create(tmp_path / "p") as project:
        report = run(add_images(project, tmp_path / "a", propose=False))
        assert report.proposed == 0 and report.choice is None
        assert project.settings.coldstart.method == "auto"  # still to be chosen
        assert all(project.load_mask(i, MaskKind.COLD_START) is None
                   for i in report.imported.added)
