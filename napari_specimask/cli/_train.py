"""Network commands: train, lr-find, models, activate, predict."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
from pathlib import Path

from napari_specimask.cli._jobs import drive
from napari_specimask.cli._options import (
    add_device_options,
    add_train_options,
    join_ranks,
    train_overrides,
)
from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.settings import save_training_defaults
from napari_specimask.core.store.project import Project
from napari_specimask.core.training.config import TrainConfig


def config_from_args(project: Project, args, scheduled: bool = True) -> TrainConfig:
    """The run's config: specimask.toml, the per-iteration schedule (unless not
    ``scheduled``: the base values stored as defaults), then the options given."""
    overrides = train_overrides(args)
    iteration = overrides.pop("iteration", None)
    if iteration is None:
        iteration = project.summary()["iteration"]
    return TrainConfig.from_settings(project.settings, iteration=iteration if scheduled else None,
                                     **overrides)


def register(sub) -> None:
    p = sub.add_parser("train", help="train a segmentation network on the verified masks")
    p.add_argument("project", type=Path)
    add_train_options(p)
    p.add_argument("--activate", choices=("better", "yes", "no"), default="better",
                   help="make the new model active: if its proposals beat the current ones "
                        "(the active model's, or cold start) on the held-out verified masks "
                        "(default), always, or never")
    p.add_argument("--save-defaults", action="store_true",
                   help="store these options in specimask.toml for later runs and the GUI")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("lr-find", help="learning-rate range test; saves its plot")
    p.add_argument("project", type=Path)
    add_train_options(p)
    p.add_argument("--out", type=Path, help="plot file (default PROJECT/models/lr_find.png)")
    p.add_argument("--num-training", type=int, default=100)
    p.set_defaults(func=cmd_lr_find)

    p = sub.add_parser("models", help="list model versions; remove weights to free disk",
                       description="List the model versions (* marks the active one) with "
                       "the disk each takes, weights and cached predictions. --remove or "
                       "--keep-best delete weights and cached predictions and keep the "
                       "record (val Dice, provenance, history).")
    p.add_argument("project", type=Path)
    p.add_argument("--json", action="store_true")
    gone = p.add_mutually_exclusive_group()
    gone.add_argument("--remove", nargs="+", metavar="VERSION",
                      help="remove these versions' weights and cached predictions")
    gone.add_argument("--keep-best", type=int, metavar="N",
                      help="remove all but the active version and the N best by val Dice")
    p.add_argument("--force", action="store_true",
                   help="also remove versions left 'training' by a killed run")
    p.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    p.add_argument("--yes", action="store_true", help="do not ask (needed without a terminal)")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("activate", help="make a model version the active one")
    p.add_argument("project", type=Path)
    p.add_argument("version")
    p.set_defaults(func=cmd_activate)

    register_predict(sub)


def register_predict(sub) -> None:
    p = sub.add_parser("predict", help="masks and probability maps at original size",
                       description="Masks (1-bit PNG) and probability maps at each image's "
                       "original size. A run stopped part way (Ctrl-C, kill, pre-emption) "
                       "finishes what is missing when run again with the same options; "
                       "OUT/.specimask-predict.json says what produced the files.")
    p.add_argument("project", type=Path)
    p.add_argument("--model", help="model version (default: the active one)")
    p.add_argument("--images", type=Path, help="a folder of images (default: the project's)")
    p.add_argument("--out", type=Path, help="default PROJECT/predictions/VERSION")
    p.add_argument("--batch-size", type=int, default=8, help="network inputs per call")
    p.add_argument("--threshold", type=float, default=0.5)
    p.add_argument("--tta", type=int, default=1,
                   help="dihedral TTA views (2-8 also write OUT/uncertainty/)")
    p.add_argument("--measure", default="jsd", help="uncertainty: variance, entropy, mi, jsd")
    p.add_argument("--maps", metavar="none|full|PX",
                   help="probability (and, with --tta, uncertainty) maps beside the masks: "
                        "none (default: masks only, the fastest), full (at the image's "
                        "size), or PX on their long side")
    p.add_argument("--workers", type=int, default=2,
                   help="processes decoding images, and as many writing outputs, while the "
                        "network runs (0: all in one process)")
    p.add_argument("--restart", action="store_true",
                   help="predict every image again, even those an interrupted run wrote")
    add_device_options(p)
    p.set_defaults(func=cmd_predict)


def cmd_train(args) -> int:
    from napari_specimask.core.loop.gate import train_and_gate
    from napari_specimask.core.store.registry import active_version
    from napari_specimask.core.training.fit import summary_line

    with Project.open(args.project) as project:
        cfg = config_from_args(project, args)
        if cfg.schedule_note() and _first_process():
            print(cfg.schedule_note())  # what runs, before it runs
        before = active_version(project)
        when = {"yes": "always", "no": "never"}.get(args.activate, args.activate)
        with stop_on_ctrl_c() as stop:
            def on_sigterm(signum, frame):
                """A cluster's time limit or pre-emption, or `kill`: stop as at the first
                Ctrl-C (the model so far is kept, status stopped); a second one kills."""
                signal.signal(signal.SIGTERM, previous)
                stop.set()

            main = threading.current_thread() is threading.main_thread()
            previous = signal.signal(signal.SIGTERM, on_sigterm) if main else None
            try:
                result = drive(train_and_gate(project, cfg, when, stop,
                                              distributed=True), "train")
            finally:
                if main:
                    signal.signal(signal.SIGTERM, previous)
        if result.trained.rank:  # another rank of a distributed run: rank zero reports
            return 0
        if args.save_defaults:  # by rank zero, once the run's options proved to work
            save_training_defaults(project, config_from_args(project, args, scheduled=False))
        m = result.trained.metrics
        if m.get("held_out_for_val"):
            print(f"held out {len(m['held_out_for_val'])} verified image(s) as validation "
                  "(role val), as no image had that role")
        if m.get("weights_note"):
            print(f"specimask: {m['weights_note']}", file=sys.stderr)
        print(summary_line(result.trained))
        print(result.summary)
        if not result.activated:
            print(f"active model stays {before or 'none (cold-start proposals)'}; "
                  f"`specimask activate {args.project} {result.trained.version}` to switch")
    return 0


def _first_process() -> bool:
    """Not one of the other ranks Lightning or SLURM started (they print nothing)."""
    return all(os.environ.get(k, "0") == "0" for k in ("LOCAL_RANK", "NODE_RANK"))


@contextlib.contextmanager
def stop_on_ctrl_c():
    """First Ctrl-C: stop after the current step and keep the model; second: abort."""
    stop = threading.Event()

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print("\nstopping after this step; the model so far is kept (Ctrl-C again to abort)",
              file=sys.stderr)

    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def cmd_lr_find(args) -> int:
    from napari_specimask.core.training.lr_find import find_lr

    with Project.open(args.project) as project:
        cfg = config_from_args(project, args)
        out = args.out or project.root / "models" / "lr_find.png"
        result = find_lr(project, cfg, out, num_training=args.num_training)
    s = f"{result.suggestion:.2e}" if result.suggestion else "none (loss did not fall)"
    print(f"suggested learning rate: {s}; plot saved to {result.plot}")
    return 0


def cmd_models(args) -> int:
    from napari_specimask.core.model.removal import version_bytes
    from napari_specimask.core.store.registry import list_models
    from napari_specimask.core.store.verdicts import GATE_KEY, proposal_source

    if args.remove or args.keep_best is not None:
        return remove_models(args)
    given = [f for f, on in (("--force", args.force), ("--dry-run", args.dry_run),
                             ("--yes", args.yes)) if on]
    if given:
        raise SpecimaskError(f"{' '.join(given)}: only with --remove or --keep-best")
    with Project.open(args.project) as project:
        models = list_models(project)
        for m in models:
            m["disk_bytes"] = version_bytes(project, m["version"])
        source = proposal_source(project)
    if args.json:
        print(json.dumps(models))
        return 0
    if not models:
        print("no models yet; train one with `specimask train`")
        return 0
    print(f"{'':2}{'version':<8} {'status':<9} {'arch':<14} {'encoder':<10} {'size':>5} "
          f"{'val Dice':>8} {'shown Dice':>10} {'train':>6} {'disk MB':>8}  parent  created")
    for m in models:
        d = m["metrics"].get("best_val_dice")
        g = (m["metrics"].get(GATE_KEY) or {}).get("candidate_dice")
        print(f"{'*' if m['active'] else ' '} {m['version']:<8} "
              f"{'removed' if m['removed'] else m['status']:<9} "
              f"{m['arch']:<14} {m['encoder']:<10} {m['img_size']:>5} "
              f"{(f'{d:.4f}' if d is not None else '-'):>8} "
              f"{(f'{g:.4f}' if g is not None else '-'):>10} {len(m['train_image_ids']):>6} "
              f"{m['disk_bytes'] / 1e6:>8.1f}  {m['parent'] or '-':<6}  {m['created_at']}")
    print("val Dice: training's measure (network input size, one view); shown Dice: the "
          "gate's (proposals as shown: TTA, full size) on the held-out masks")
    print(source)  # which proposals new batches are shown with, and why
    return 0


def remove_models(args) -> int:
    from napari_specimask.core.model.removal import (
        check_removable,
        remove_versions,
        version_bytes,
        versions_beyond_best,
    )

    with Project.open(args.project) as project:
        versions = list(dict.fromkeys(args.remove or versions_beyond_best(project,
                                                                          args.keep_best)))
        check_removable(project, versions, args.force)
        if not versions:
            print("nothing to remove")
            return 0
        size = sum(version_bytes(project, v) for v in versions) / 1e6
        print(f"{'would remove' if args.dry_run else 'removing'} the weights and cached "
              f"predictions of {', '.join(versions)} ({size:.1f} MB)")
        if args.dry_run:
            return 0
        if not args.yes:
            if not sys.stdin.isatty():
                raise SpecimaskError("add --yes to remove without being asked (no terminal "
                                     "to ask on)")
            try:
                answer = input("remove them? [y/N] ")
            except EOFError:  # Ctrl-D: no
                answer = ""
            if answer.strip().lower() not in ("y", "yes"):
                print("nothing removed")
                return 1
        out = drive(remove_versions(project, versions, args.force), "removing")
    print(f"removed {len(out.removed)} version(s), freed {out.freed_bytes / 1e6:.1f} MB; "
          "their records stay (val Dice, provenance)")
    return 0


def cmd_activate(args) -> int:
    from napari_specimask.core.store.registry import activate

    with Project.open(args.project) as project:
        activate(project, args.version)
    print(f"active model: {args.version}")
    return 0


def cmd_predict(args) -> int:
    from napari_specimask.core.inference.predict import predict_to_folder
    from napari_specimask.core.io.naming import rename_note
    from napari_specimask.core.store.registry import version_or_active

    if args.workers < 0:
        raise SpecimaskError("--workers takes 0 (all in this process) or more")
    ranks = join_ranks(args)
    with Project.open(args.project) as project:
        version = version_or_active(project, args.model)  # every rank finds the same
        out = args.out or project.root / "predictions" / version
        try:
            report = drive(predict_to_folder(
                project, out, version, args.images, args.batch_size, args.threshold,
                tta=args.tta, measure=args.measure, workers=args.workers,
                restart=args.restart, ranks=ranks,
                **({"maps": args.maps} if args.maps is not None else {})), "predict")
        except KeyboardInterrupt:
            print(f"stopped; what was written in {out} is complete: run the same command "
                  "again to predict the rest", file=sys.stderr)
            raise
    if not ranks.is_zero:  # rank zero reports the whole run
        return 0
    if report.note:
        print(report.note)
    maps = f" and {' and '.join(report.maps)} map(s)" if report.maps else ""
    kept = f" ({report.kept} already there)" if report.kept else ""
    shared = f" on {report.ranks} processes" if report.ranks > 1 else ""
    print(f"model {report.version}: wrote {len(report.written)} mask(s){maps} to {out}"
          f"{kept}; skipped {len(report.skipped)}{shared}")
    if report.renamed:
        print(rename_note(report.renamed, ".png"))
    for path, why in report.skipped:
        print(f"  skipped {path}: {why}", file=sys.stdout)
    return 0
