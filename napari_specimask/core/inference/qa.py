"""Numeric and visual QA of a model version on labelled images: a table of per-image
scores, and for one image the maps that show where each version is wrong."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ..errors import SpecimaskError
from ..io.images import to_rgb8
from ..masks.metrics import dice_iou
from ..progress import Job, Progress
from ..store.project import Project
from ..vocabulary import Status
from .cache import cached_prediction, compute_predictions

SPLITS = ("val", "test", "all")
TP, FP, FN = 1, 2, 3  # error-map values: true positive, false positive, false negative
A_RIGHT, B_RIGHT = 1, 2  # difference-map values: where only version A, or only B, is right
ERRORS, DIFFERENCE = "errors", "difference"  # the two kinds of panel


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


@dataclass
class Panel:
    """One panel of the QA view: an image's map, titled ``what · detail``."""
    what: str      # "v002 errors", "v002 vs v001"
    detail: str    # "Dice 0.9123", "1.2% differ"
    data: np.ndarray
    kind: str      # ERRORS (values TP / FP / FN) or DIFFERENCE (A_RIGHT / B_RIGHT)

    @property
    def label(self) -> str:
        return f"{self.what} · {self.detail}"


@dataclass
class Comparison:
    name: str  # the image's
    image: np.ndarray
    panels: list[Panel]


def compare_on_image(project: Project, version: str, other: str | None,
                     image_id: int) -> Job[Comparison]:
    """The QA view of one image: each version's prediction (made first where it is not
    cached), its error map and Dice, and where ``other`` is given, the map of where the
    two disagree. Reading a sheet and mapping it takes long enough to stall a GUI
    thread, which then only turns the panels into layers."""
    versions = [version] + ([other] if other is not None else [])
    for v in versions:
        yield from compute_predictions(project, v, [image_id], 1)
    record = project.image(image_id)
    truth = project.load_mask(image_id)
    if truth is None:
        raise SpecimaskError(f"{record.name} has no verified mask to check against")
    masks = []
    for v in versions:
        pred = cached_prediction(project, v, image_id, 1)
        if pred is None:
            raise SpecimaskError(f"{v}'s prediction of {record.name} is not cached; "
                                 "click the row again")
        masks.append(pred.mask)
    panels = [Panel(f"{v} errors", f"Dice {dice_iou(m, truth)[0]:.4f}", error_map(m, truth),
                    ERRORS) for v, m in zip(versions, masks, strict=True)]
    if other is not None:
        diff = difference_map(masks[0], masks[1], truth)
        share = 100.0 * np.count_nonzero(diff) / diff.size
        panels.append(Panel(f"{version} vs {other}", f"{share:.1f}% differ", diff, DIFFERENCE))
    return Comparison(record.name, to_rgb8(project.read_image(record)), panels)
