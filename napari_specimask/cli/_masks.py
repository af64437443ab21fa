"""Mask commands: propose (cold start), postprocess, evaluate."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from napari_specimask.cli._jobs import drive
from napari_specimask.core.coldstart.methods import METHODS
from napari_specimask.core.io.naming import rename_note
from napari_specimask.core.masks.metrics import BOTH_EMPTY_NOTE, evaluate_folders
from napari_specimask.core.masks.postprocess import PostProcess
from napari_specimask.core.masks.postprocess_folder import postprocess_folder
from napari_specimask.core.store.project import Project
from napari_specimask.core.vocabulary import Status


def _post_options(p, kernel, iters, min_size, fill_holes=True, drop_frame=False) -> None:
    """Post-processing flags; None defaults mean 'take it from specimask.toml'."""
    p.add_argument("--drop-frame", action=argparse.BooleanOptionalAction, default=drop_frame,
                   help="remove objects along over a quarter of the image border (a dark "
                        "frame, the table around a sheet)")
    p.add_argument("--kernel", type=int, default=kernel, help="dilation kernel size (px)")
    p.add_argument("--iters", type=int, default=iters, help="dilation iterations (0: none)")
    p.add_argument("--min-size", type=int, default=min_size,
                   help="remove objects smaller than this (px; 0: keep all)")
    p.add_argument("--no-fill-holes", dest="fill_holes", action="store_false",
                   default=fill_holes)


def register(sub) -> None:
    p = sub.add_parser("propose", help="cold-start masks from classic image processing")
    p.add_argument("project", type=Path)
    p.add_argument("--method", choices=tuple(METHODS), default=None,
                   help="default: [coldstart] method in specimask.toml")
    _post_options(p, kernel=None, iters=None, min_size=None, fill_holes=None, drop_frame=None)
    p.add_argument("--include-labeled", action="store_true",
                   help="also propose for images that already have a verified mask")
    p.set_defaults(func=cmd_propose)

    p = sub.add_parser("postprocess", help="dilate, fill holes, drop specks in a mask folder")
    p.add_argument("mask_dir", type=Path)
    p.add_argument("--out", type=Path, required=True)
    _post_options(p, kernel=5, iters=1, min_size=0)
    p.set_defaults(func=cmd_postprocess)

    p = sub.add_parser("evaluate", help="Dice and IoU of predicted vs true masks")
    p.add_argument("pred_dir", type=Path)
    p.add_argument("truth_dir", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)


def cmd_propose(args) -> int:
    from napari_specimask.core.coldstart.proposals import apply_cold_start, project_cold_start

    with Project.open(args.project) as project:
        cold_start, choice = drive(project_cold_start(
            project, method=args.method, kernel=args.kernel, iters=args.iters,
            fill_holes=args.fill_holes, min_size=args.min_size, drop_frame=args.drop_frame),
            "choosing")
        if choice is not None:
            print(f"cold-start method chosen for this project: {choice.reason}")
        before = len(project.image_ids(status=Status.QUEUED))
        n = drive(apply_cold_start(project, cold_start, args.include_labeled), "propose")
    print(f"stored {n} '{cold_start.method}' proposal(s) (origin coldstart) in {project.root}; "
          f"{cold_start.method} is now the project's cold start"
          + (f" ({before} queued image(s) shown cold-start proposals get the new ones)"
             if before else ""))
    return 0


def cmd_postprocess(args) -> int:
    post = PostProcess(args.kernel, args.iters, args.fill_holes, args.min_size,
                       args.drop_frame)
    report = drive(postprocess_folder(args.mask_dir, args.out, post), "postprocess")
    print(f"wrote {len(report.written)} post-processed mask(s) to {args.out}; "
          f"skipped {len(report.skipped)}")
    if report.renamed:
        print(rename_note(report.renamed, ".png"))
    for s in report.skipped:
        print(f"  skipped {s.path}: {s.reason}")
    return 0


def cmd_evaluate(args) -> int:
    report = drive(evaluate_folders(args.pred_dir, args.truth_dir), "evaluate")
    if args.json:
        print(json.dumps(report.to_json()))
        return 0
    width = max(len(s.name) for s in report.images)
    print(f"{'image':<{width}}  {'dice':>6}  {'iou':>6}")
    for s in report.images:
        flag = "  (both empty)" if s.both_empty else ""
        print(f"{s.name:<{width}}  {s.dice:6.4f}  {s.iou:6.4f}{flag}")
    print(f"{'mean':<{width}}  {report.mean_dice:6.4f}  {report.mean_iou:6.4f}"
          f"  over {len(report.images)} image(s)")
    print(f"note: {BOTH_EMPTY_NOTE}")
    if report.missing_predictions:
        print(f"warning: {len(report.missing_predictions)} true mask(s) have no prediction "
              f"and are not scored, e.g. {report.missing_predictions[0]}")
    if report.unmatched_predictions:
        print(f"warning: {len(report.unmatched_predictions)} prediction(s) have no true mask,"
              f" e.g. {report.unmatched_predictions[0]}")
    return 0
