"""Numeric and visual QA of a model version on labelled images."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ..masks.metrics import dice_iou
from ..progress import Job, Progress
from ..store.project import Project
from ..vocabulary import Status
from .cache import cached_prediction, compute_predictions

SPLITS = ("val", "test", "all")
TP, FP, FN = 1, 2, 3  # error-map values: true positive, false positive, false negative
A_RIGHT, B_RIGHT = 1, 2  # difference-map values: where only version A, or only B, is right


@dataclass(frozen=True)
class QARow:
    image_id: int
    name: str
    role: str
    dice: float
    iou: float
    false_positive: float  # fraction of the image's pixels
    false_negative: float


def labelled_images(project: Project, split: str) -> list:
    roles = ("pool", "val", "test", "source") if split == "all" else (split,)
    return [r for role in roles for r in project.images(role=role, status=Status.LABELED)]


def evaluate_version(project: Project, version: str, split: str = "val", tta: int = 1,
                     stop: threading.Event | None = None) -> Job[list[QARow]]:
    """Per-image Dice / IoU of ``version`` against the verified masks, worst first."""
    records = labelled_images(project, split)
    yield from compute_predictions(project, version, [r.id for r in records], tta, stop=stop)
    rows = []
    for i, rec in enumerate(records):
        pred = cached_prediction(project, version, rec.id, tta)
        truth = project.load_mask(rec.id)
        if pred is None or truth is None:
            continue
        d, j = dice_iou(pred.mask, truth)
        rows.append(QARow(rec.id, rec.name, rec.role, d, j,
                          float(np.mean(pred.mask & ~truth)), float(np.mean(~pred.mask & truth))))
        yield Progress(i + 1, len(records), rec.name)
    return sorted(rows, key=lambda r: r.dice)


def error_map(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """uint8 map: 1 true positive, 2 false positive, 3 false negative, 0 elsewhere."""
    out = np.zeros(truth.shape, np.uint8)
    out[pred & truth] = TP
    out[pred & ~truth] = FP
    out[~pred & truth] = FN
    return out


def difference_map(a: np.ndarray, b: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """uint8 map of where two versions' masks disagree, by which one the truth sides with:
    1 where ``a`` is right and ``b`` wrong, 2 where ``b`` is right and ``a`` wrong, 0 where
    they agree (both right or both wrong: an error map of either shows those). With binary
    masks exactly one of two disagreeing pixels is right, so the map is 0 where a == b."""
    out = np.zeros(truth.shape, np.uint8)
    differ = a != b
    out[differ & (a == truth)] = A_RIGHT
    out[differ & (b == truth)] = B_RIGHT
    return out
