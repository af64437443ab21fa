"""Losses (from smp) and per-image Dice / IoU at threshold 0.5 (smp.metrics)."""

from __future__ import annotations

import torch
from torch import nn

from ..errors import SpecimaskError
from ..vocabulary import LOSSES


class _Sum(nn.Module):
    def __init__(self, *parts: nn.Module):
        super().__init__()
        self.parts = nn.ModuleList(parts)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return sum(part(logits, target) for part in self.parts)


def build_loss(name: str, alpha: float = 0.7, beta: float = 0.3) -> nn.Module:
    """A binary loss on logits. Tversky's alpha weighs false positives and beta false
    negatives (smp's convention); 0.7 / 0.3 is the plankton workflow's setting."""
    from segmentation_models_pytorch import losses as L

    if name == "tversky":
        return L.TverskyLoss(mode="binary", from_logits=True, alpha=alpha, beta=beta)
    if name == "dice":
        return L.DiceLoss(mode="binary", from_logits=True)
    if name == "bce":
        return L.SoftBCEWithLogitsLoss()
    if name == "dicefocal":
        return _Sum(L.DiceLoss(mode="binary", from_logits=True), L.FocalLoss(mode="binary"))
    raise SpecimaskError(f"unknown loss {name!r}; choose one of {', '.join(LOSSES)}")


def dice_iou_per_image(logits: torch.Tensor, target: torch.Tensor,
                       threshold: float = 0.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Dice and IoU of each image of a batch (N,1,H,W); both empty counts as 1."""
    from segmentation_models_pytorch import metrics as M

    tp, fp, fn, tn = M.get_stats(logits.sigmoid(), target.long(), mode="binary",
                                 threshold=threshold)
    dice = M.f1_score(tp, fp, fn, tn, reduction="none", zero_division=1.0)
    iou = M.iou_score(tp, fp, fn, tn, reduction="none", zero_division=1.0)
    return dice.flatten(), iou.flatten()
