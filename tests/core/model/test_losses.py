"""The losses prefer the right answer; per-image Dice / IoU."""

from __future__ import annotations

import pytest
import torch

from napari_specimask.core.model.losses import LOSSES, build_loss, dice_iou_per_image


@pytest.mark.parametrize("name", LOSSES)
def test_losses_prefer_the_right_answer(name):
    target = torch.zeros(2, 1, 16, 16)
    target[:, :, 4:12, 4:12] = 1
    loss = build_loss(name)
    good = loss(target * 20 - 10, target)
    bad = loss(10 - target * 20, target)
    assert good < bad



def test_tversky_defaults_and_per_image_metrics():
    loss = build_loss("tversky")
    assert (loss.alpha, loss.beta) == (0.7, 0.3)
    target = torch.zeros(3, 1, 8, 8)
    target[0, :, :4] = 1
    logits = torch.full_like(target, -10.0)
    logits[0, :, :2] = 10  # image 0: half found; image 1 and 2: both empty
    dice, iou = dice_iou_per_image(logits, target)
    assert dice[0] == pytest.approx(2 * 16 / (16 + 32))
    assert iou[0] == pytest.approx(16 / 32)
    assert dice[1] == 1 and iou[2] == 1

