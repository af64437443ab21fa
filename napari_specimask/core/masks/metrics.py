"""Dice and IoU of predicted masks against true masks, paired by file name."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ImageReadError, SpecimaskError
from ..io.images import is_image_path, read_mask
from ..progress import Job, Progress

BOTH_EMPTY_NOTE = "an image where prediction and truth are both empty counts as Dice = IoU = 1"


def dice_iou(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Dice and IoU of two bool masks; both empty is a perfect match (1, 1)."""
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    inter = np.count_nonzero(pred & truth)
    total = np.count_nonzero(pred) + np.count_nonzero(truth)
    if total == 0:
        return 1.0, 1.0
    return 2.0 * inter / total, inter / (total - inter)


@dataclass(frozen=True)
class ImageScore:
    name: str
    dice: float
    iou: float
    both_empty: bool = False


@dataclass
class EvalReport:
    images: list[ImageScore] = field(default_factory=list)
    missing_predictions: list[str] = field(default_factory=list)
    unmatched_predictions: list[str] = field(default_factory=list)

    @property
    def mean_dice(self) -> float:
        return float(np.mean([s.dice for s in self.images])) if self.images else float("nan")

    @property
    def mean_iou(self) -> float:
        return float(np.mean([s.iou for s in self.images])) if self.images else float("nan")

    def to_json(self) -> dict:
        return {
            "mean_dice": self.mean_dice,
            "mean_iou": self.mean_iou,
            "n_images": len(self.images),
            "images": [asdict(s) for s in self.images],
            "missing_predictions": self.missing_predictions,
            "unmatched_predictions": self.unmatched_predictions,
            "note": BOTH_EMPTY_NOTE,
        }


def mask_files_by_name(folder: str | Path) -> dict[str, Path]:
    """Mask files directly in ``folder`` keyed by stem (subfolders, such as a prediction's
    ``probability/``, are not masks and are left out)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SpecimaskError(f"{folder}: not a folder")
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and is_image_path(p) and not p.name.startswith("."):
            key = p.stem
            if key in out:
                raise SpecimaskError(f"{p} and {out[key]} have the same name; pairing by "
                                     "name needs one mask per name")
            out[key] = p
    return out


def evaluate_folders(pred_dir: str | Path, truth_dir: str | Path) -> Job[EvalReport]:
    preds, truths = mask_files_by_name(pred_dir), mask_files_by_name(truth_dir)
    names = sorted(set(preds) & set(truths))
    if not names:
        raise SpecimaskError(f"no masks with the same name in {pred_dir} and {truth_dir}")
    report = EvalReport(
        missing_predictions=sorted(set(truths) - set(preds)),
        unmatched_predictions=sorted(set(preds) - set(truths)),
    )
    for i, name in enumerate(names):
        yield Progress(i, len(names), name)
        truth = read_mask(truths[name], max_pixels=None)
        pred = read_mask(preds[name], max_pixels=None)
        if pred.shape != truth.shape:
            raise ImageReadError(
                preds[name],
                f"prediction is {pred.shape[1]} x {pred.shape[0]} px but truth "
                f"{truths[name]} is {truth.shape[1]} x {truth.shape[0]} px; "
                "masks are never resized silently",
            )
        d, j = dice_iou(pred, truth)
        report.images.append(ImageScore(name, d, j, not pred.any() and not truth.any()))
    yield Progress(len(names), len(names), "done")
    return report
