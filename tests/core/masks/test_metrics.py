"""Dice / IoU, and folders of masks paired by name."""

from __future__ import annotations

import numpy as np
import pytest

from napari_specimask.core.errors import ImageReadError, SpecimaskError
from napari_specimask.core.io.images import write_mask_png
from napari_specimask.core.masks.metrics import dice_iou, evaluate_folders
from napari_specimask.core.progress import run


def test_dice_iou_values():
    a = np.zeros((4, 4), bool)
    b = a.copy()
    a[:2] = True      # 8 px
    b[1:3] = True     # 8 px, 4 shared
    d, j = dice_iou(a, b)
    assert d == pytest.approx(0.5) and j == pytest.approx(4 / 12)
    assert dice_iou(a, a) == (1.0, 1.0)
    assert dice_iou(np.zeros((3, 3)), np.zeros((3, 3))) == (1.0, 1.0)  # both empty
    assert dice_iou(a, np.zeros_like(a)) == (0.0, 0.0)



def test_evaluate_folders_pairs_by_stem(tmp_path):
    m = np.zeros((5, 6), bool)
    m[1:3, 1:4] = True
    for name in ("a", "b"):
        write_mask_png(tmp_path / "truth" / f"{name}.png", m)
    write_mask_png(tmp_path / "pred" / "a.png", m)
    write_mask_png(tmp_path / "pred" / "z.png", m)
    report = run(evaluate_folders(tmp_path / "pred", tmp_path / "truth"))
    assert [s.name for s in report.images] == ["a"] and report.mean_dice == 1.0
    assert report.missing_predictions == ["b"] and report.unmatched_predictions == ["z"]



def test_evaluate_size_mismatch_names_both_files(tmp_path):
    write_mask_png(tmp_path / "truth" / "a.png", np.zeros((5, 6), bool))
    write_mask_png(tmp_path / "pred" / "a.png", np.zeros((6, 5), bool))
    with pytest.raises(ImageReadError) as info:
        run(evaluate_folders(tmp_path / "pred", tmp_path / "truth"))
    assert "pred/a.png" in str(info.value) and "truth/a.png" in str(info.value)



def test_evaluate_needs_common_names(tmp_path):
    write_mask_png(tmp_path / "truth" / "a.png", np.zeros((5, 6), bool))
    write_mask_png(tmp_path / "pred" / "b.png", np.zeros((5, 6), bool))
    with pytest.raises(SpecimaskError, match="no masks with the same name"):
        run(evaluate_folders(tmp_path / "pred", tmp_path / "truth"))

