"""Whole-workflow commands: hold-out split, one active-learning round, a grid search."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from napari_specimask.cli._active import spec_from_args
from napari_specimask.cli._jobs import drive
from napari_specimask.cli._options import add_train_options
from napari_specimask.cli._train import config_from_args, stop_on_ctrl_c
from napari_specimask.core.settings import save_training_defaults
from napari_specimask.core.store.project import Project
from napari_specimask.core.store.splits import split_roles
from napari_specimask.core.vocabulary import (
    ACTIVATE_WHEN,
    AGGREGATIONS,
    GRID_KEYS,
    MEASURES,
    PHOTOMETRIC,
    STRATEGIES,
)


def register(sub) -> None:
    p = sub.add_parser("split", help="move a fraction of labelled images to val / test")
    p.add_argument("project", type=Path)
    p.add_argument("--from", dest="from_role", choices=("pool", "source"), default="pool")
    p.add_argument("--val", type=float, default=0.1, help="fraction for val (0.1)")
    p.add_argument("--test", type=float, default=0.0, help="fraction for test (0)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_split)

    p = sub.add_parser("round", help="one active-learning round: train, score, select the "
                                     "next batch")
    p.add_argument("project", type=Path)
    add_train_options(p)
    p.add_argument("--activate", choices=ACTIVATE_WHEN, default="better",
                   help="make the new model active: if its val Dice beats the active one "
                        "(default), always, or never; selection uses the active model")
    p.add_argument("--save-defaults", action="store_true",
                   help="store the training options in specimask.toml for later rounds")
    g = p.add_argument_group("selection (defaults: [selection] in specimask.toml)")
    g.add_argument("--select-strategy", choices=STRATEGIES)
    g.add_argument("--select-batch-size", type=int)
    g.add_argument("--n-batches", type=int, help="random batches to draw (0: disjoint)")
    g.add_argument("--aggregation", choices=AGGREGATIONS)
    g.add_argument("--select-seed", type=int)
    g.add_argument("--tta", type=int, help="dihedral views for scoring, 1 to 8")
    g.add_argument("--photometric", help=f"extra scoring views: {','.join(PHOTOMETRIC)}")
    g.add_argument("--measure", choices=MEASURES)
    g.add_argument("--score-precision", choices=("auto", "32", "bf16", "16"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_round)

    p = sub.add_parser("grid", help="train every combination of settings; rank on val")
    p.add_argument("project", type=Path)
    add_train_options(p, grid=True)
    p.add_argument("--out", type=Path, help="folder for results.csv / results.md "
                                            "(default PROJECT/grids/TIMESTAMP)")
    p.add_argument("--activate-best", action="store_true",
                   help="make the best combination's model the active one")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_grid)


def cmd_split(args) -> int:
    with Project.open(args.project) as project:
        r = split_roles(project, args.val, args.test, args.from_role, args.seed)
    print(f"{len(r.val)} image(s) to val, {len(r.test)} to test, "
          f"{r.candidates - len(r.val) - len(r.test)} labelled {args.from_role} image(s) left "
          "for training")
    return 0


def cmd_round(args) -> int:
    from napari_specimask.core.loop.rounds import SelectionPlan, run_round

    with Project.open(args.project) as project:
        cfg = config_from_args(project, args)
        if args.save_defaults:
            save_training_defaults(project, config_from_args(project, args, scheduled=False))
        plan = SelectionPlan.from_settings(
            project, strategy=args.select_strategy, batch_size=args.select_batch_size,
            n_batches=args.n_batches, seed=args.select_seed, aggregation=args.aggregation,
            spec=spec_from_args(project, argparse.Namespace(
                tta=args.tta, photometric=args.photometric, measure=args.measure,
                precision=args.score_precision)))
        with stop_on_ctrl_c() as stop:
            result = drive(run_round(project, cfg, plan, args.activate, stop), "round")
        v, sel = result.verdict, result.selection
        out = {"iteration": project.summary()["iteration"], "trained": result.trained.version,
               "status": result.trained.status,
               "val_dice": result.trained.metrics.get("best_val_dice"),
               "held_out_dice": v.candidate_dice if v else None,
               "previous": v.current if v else None,
               "previous_held_out_dice": v.current_dice if v else None,
               "activated": result.activated,
               "selection": sel.to_json(project) if sel else None}
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"trained {result.trained.version} ({result.trained.status}) at {cfg.img_size} px "
          f"for up to {cfg.epochs} epochs; "
          + (v.reason if v else "not judged") + "; "
          + ("activated" if result.activated else "not activated"))
    if sel is not None and sel.note:
        print(f"specimask: {sel.note}", file=sys.stderr)
    if sel is None:
        print("stopped before selecting; nothing queued")
        return 0
    print(f"iteration {sel.iteration}: {len(sel.chosen)} image(s) queued by {sel.strategy} "
          f"with {sel.model_version}; annotate them, then run the next round")
    return 0


def cmd_grid(args) -> int:
    from napari_specimask.core.training.grid import grid_search, parse_grid

    grid = parse_grid({key: getattr(args, key, None) for key in GRID_KEYS})
    for key in grid:  # config_from_args must not see the comma lists
        setattr(args, key, None)
    with Project.open(args.project) as project:
        base = config_from_args(project, args)
        with stop_on_ctrl_c() as stop:
            result = drive(grid_search(project, base, grid, args.out, args.activate_best, stop),
                           "grid")
    if args.json:
        print(json.dumps({"csv": str(result.csv), "markdown": str(result.markdown),
                          "activated": result.activated, "stopped": result.stopped,
                          "rows": [{**r.params, "version": r.version, "status": r.status,
                                    "val_dice": r.val_dice, "val_iou": r.val_iou}
                                   for r in result.rows]}))
        return 0
    print(result.markdown.read_text(), end="")
    print(f"written: {result.csv} and {result.markdown}")
    if result.activated:
        print(f"active model: {result.activated}")
    elif result.best is not None:
        print(f"best: {result.best.version}; `specimask activate {args.project} "
              f"{result.best.version}` to use it (or pass --activate-best)")
    if result.stopped:
        print("stopped: the table holds the combinations finished so far")
    return 0
