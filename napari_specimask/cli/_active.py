"""Active-learning commands: score, select, iterations, annotate, simulate."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from napari_specimask.cli._jobs import drive
from napari_specimask.cli._options import add_device_options, join_ranks
from napari_specimask.core.active.annotations import iteration_summary
from napari_specimask.core.masks.metrics import mask_files_by_name
from napari_specimask.core.store.project import Project
from napari_specimask.core.vocabulary import (
    AGGREGATIONS,
    MEASURES,
    PHOTOMETRIC,
    STRATEGIES,
    Role,
    Status,
    in_words,
)


def _score_options(p) -> None:
    g = p.add_argument_group("TTA scoring (defaults: [selection] in specimask.toml)")
    g.add_argument("--model", help="model version (default: the active one)")
    g.add_argument("--tta", type=int, help="dihedral views, 1 to 8")
    g.add_argument("--photometric", help=f"extra views: {','.join(PHOTOMETRIC)}")
    g.add_argument("--measure", choices=MEASURES)
    g.add_argument("--precision", choices=("auto", "32", "bf16", "16"))


def spec_from_args(project: Project, args):
    from napari_specimask.core.active.scoring import ScoreSpec

    sel = project.settings.selection
    photometric = tuple(s for s in (args.photometric or ",".join(sel.photometric)).split(",")
                        if s)
    return ScoreSpec(args.measure or sel.measure, args.tta or sel.tta, photometric,
                     precision=args.precision or sel.precision)


def register(sub) -> None:
    p = sub.add_parser("score", help="TTA uncertainty scores of the unlabelled pool")
    p.add_argument("project", type=Path)
    _score_options(p)
    p.add_argument("--all", action="store_true", help="score every image, not only the pool")
    p.add_argument("--json", action="store_true")
    add_device_options(p)
    p.set_defaults(func=cmd_score)

    p = sub.add_parser("select", help="choose the next batch to annotate")
    p.add_argument("project", type=Path)
    p.add_argument("--strategy", choices=STRATEGIES)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--n-batches", type=int, help="random batches to draw (0: disjoint)")
    p.add_argument("--aggregation", choices=AGGREGATIONS)
    p.add_argument("--seed", type=int)
    _score_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_select)

    p = sub.add_parser("iterations", help="the active-learning iterations so far")
    p.add_argument("project", type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_iterations)

    p = sub.add_parser("annotate", help="save corrected masks of queued images from a folder")
    p.add_argument("project", type=Path)
    p.add_argument("--masks", type=Path, required=True,
                   help="masks named like the images (e.g. edited proposals)")
    p.add_argument("--seconds", type=float, help="time spent per image, if known")
    p.add_argument("--author", help="who the saves are recorded as (default: $SPECIMASK_AUTHOR,"
                   " else your user name)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace masks others saved after this run started")
    p.set_defaults(func=cmd_annotate)

    p = sub.add_parser("simulate", help="active learning with the true masks as the person")
    p.add_argument("--images", type=Path, required=True)
    p.add_argument("--masks", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--strategies", default=",".join(STRATEGIES))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--iterations", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--initial", type=int, default=4)
    p.add_argument("--test-fraction", type=float, default=0.25)
    p.add_argument("--n-batches", type=int, help="draw mode for stochastic (default disjoint)")
    p.add_argument("--img-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=80, help="optimizer steps per training")
    p.add_argument("--encoder", default="resnet18")
    p.add_argument("--tta", type=int, default=8)
    p.add_argument("--measure", choices=MEASURES, default="jsd")
    p.add_argument("--accept-dice", type=float, default=0.95,
                   help="the oracle accepts a proposal as is at this Dice or above")
    p.set_defaults(func=cmd_simulate)


def _scorer(project: Project, args, required: bool = False, device=None):
    """The scorer of ``--model`` or the active version; None without one, unless
    ``required`` (then the error says to train)."""
    from napari_specimask.core.active.scoring import ModelScorer
    from napari_specimask.core.store.registry import active_version, version_or_active

    version = version_or_active(project, args.model) if required else \
        args.model or active_version(project)
    return ModelScorer(project, version, spec_from_args(project, args),
                       device=device) if version else None


def cmd_score(args) -> int:
    ranks = join_ranks(args)
    with Project.open(args.project) as project:
        scorer = _scorer(project, args, required=True, device=ranks.device)
        records = project.images() if args.all else project.images(role=Role.POOL,
                                                                    status=Status.UNLABELED)
        before = scorer.scored
        scores = drive(scorer.score([r.id for r in records], ranks=ranks), "score")
        if not ranks.is_zero:  # rank zero reports the whole run
            return 0
        rows = sorted(({"id": r.id, "path": r.relpath, "score": scores[r.id]}
                       for r in records if r.id in scores), key=lambda d: -d["score"])
        computed = scorer.scored - before
    if args.json:
        print(json.dumps({"model_version": scorer.version, "measure": scorer.spec.measure,
                          "views": scorer.spec.views_key, "computed": computed,
                          "processes": ranks.world, "images": rows}))
        return 0
    shared = f" on {ranks.world} processes" if ranks.world > 1 else ""
    print(f"{len(rows)} image(s) scored with {scorer.version} ({scorer.spec.measure}, "
          f"{scorer.spec.views_key}); {computed} computed{shared}, "
          f"{len(rows) - computed} cached")
    for d in rows[:10]:
        print(f"  {d['score']:.4f}  {d['path']}")
    return 0


def cmd_select(args) -> int:
    from napari_specimask.core.active.queue import select_next

    with Project.open(args.project) as project:
        sel = project.settings.selection
        n_batches = args.n_batches if args.n_batches is not None else sel.n_batches
        strategy = args.strategy or sel.strategy
        scorer = _scorer(project, args)
        selection = drive(select_next(
            project, strategy, args.batch_size or sel.batch_size,
            n_batches=n_batches or None, seed=sel.seed if args.seed is None else args.seed,
            aggregation=args.aggregation or sel.aggregation, scorer=scorer,
            fallback=args.strategy is None), "select")
        result = selection.to_json(project)
    if selection.note:
        print(f"specimask: {selection.note}", file=sys.stderr)
    if args.json:
        print(json.dumps(result))
        return 0
    bs = f", batch score {result['batch_score']:.4f}" if result["batch_score"] is not None else ""
    print(f"iteration {result['iteration']}: {len(result['chosen'])} image(s) queued by "
          f"{result['strategy']} (model {result['model_version']}{bs}; "
          f"{result['n_scored']} of {result['n_candidates']} candidates scored)")
    for c in result["chosen"]:
        score = f"{c['score']:.4f}" if c["score"] is not None else "-"
        print(f"  {score:>7}  {c['path']}  (proposal: {in_words(c['proposal'] or 'none')})")
    return 0


def cmd_iterations(args) -> int:
    with Project.open(args.project) as project:
        rows = iteration_summary(project)
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("no iterations yet; `specimask select` starts one")
        return 0
    print(f"{'it':>3} {'strategy':<11} {'model':<6} {'chosen':>6} {'done':>5} {'corrected':>9} "
          f"{'accepted':>8} {'edited':>7} {'prop. Dice':>10}")
    for r in rows:
        fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
        print(f"{r['iteration']:>3} {r['strategy']:<11} {r['model_version'] or '-':<6} "
              f"{r['selected']:>6} {r['annotated']:>5} {r['corrected']:>9} {r['accepted']:>8} "
              f"{fmt(r['mean_edited_fraction']):>7} {fmt(r['mean_proposal_dice']):>10}")
    return 0


def cmd_annotate(args) -> int:
    """Save the folder's masks for the queued images, as an annotator would
    (``core.active.folder_saves``): leased images left to their annotator, newer saves
    kept unless --overwrite."""
    from napari_specimask.core.active.folder_saves import save_folder_masks
    from napari_specimask.core.store.masks import default_author

    masks = mask_files_by_name(args.masks)
    author = args.author or default_author()
    with Project.open(args.project) as project:
        report = drive(save_folder_masks(project, masks, author, args.overwrite,
                                         args.seconds), "annotate")
    for d in report.saved:
        print(f"saved {d['relpath']} ({d['origin']})")
    print(f"saved {len(report.saved)} of {report.queued} queued image(s): "
          f"{report.count('accepted')} accepted as proposed, {report.count('corrected')} "
          f"corrected, {report.count('hand')} without proposal (recorded as {author})")
    for line in report.left:
        print(f"  left to another annotator: {line}")
    for line in report.refused:
        print(f"specimask: not saved: {line}", file=sys.stderr)
    return 1 if report.refused else 0


def cmd_simulate(args) -> int:
    from napari_specimask.sim.simulate import SimConfig, simulate, summarise

    cfg = SimConfig(strategies=tuple(s for s in args.strategies.split(",") if s),
                    seeds=args.seeds, iterations=args.iterations, batch_size=args.batch_size,
                    initial=args.initial, test_fraction=args.test_fraction,
                    n_batches=args.n_batches, img_size=args.img_size, steps=args.steps,
                    encoder=args.encoder, tta=args.tta, measure=args.measure,
                    accept_dice=args.accept_dice)
    t0 = time.perf_counter()
    csv_path = drive(simulate(args.images, args.masks, args.out, cfg), "simulate")
    print(f"wrote {csv_path} and {csv_path.parent / 'dice.png'} in "
          f"{time.perf_counter() - t0:.0f} s")
    for s in summarise(csv_path):
        corr = s["mean_corrected_fraction"]
        corrected = f"; proposals corrected {corr:.0%}" if corr is not None else ""
        print(f"  {s['strategy']:<11} iteration {s['iteration']} ({s['n_labelled']} labelled): "
              f"test Dice {s['dice_mean']:.4f} +- {s['dice_std']:.4f} "
              f"[{s['dice_min']:.4f}, {s['dice_max']:.4f}] over {s['seeds']} seed(s)"
              f"{corrected}")
    return 0
