"""``specimask continuous``: fine-tune after every few saves, next to people annotating.

The headless side of Annotate's "train while I annotate": on a GPU server sharing the
project folder with the annotators' laptops, it waits for ``--every`` new masks, runs a
short gated fine-tuning (``core.loop.continuous``), gives the unopened queue the new
model's proposals, and waits again, until Ctrl-C (or after one run with ``--once``).
"""

from __future__ import annotations

from pathlib import Path

from napari_specimask.cli._jobs import drive
from napari_specimask.cli._train import stop_on_ctrl_c
from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.store.project import Project


def register(sub) -> None:
    p = sub.add_parser("continuous", help="fine-tune after every few saved masks, until "
                       "Ctrl-C (continuous training)")
    p.add_argument("project", type=Path)
    p.add_argument("--every", type=int,
                   help="saved masks per run (default: [continuous] every in specimask.toml)")
    p.add_argument("--epochs", type=int,
                   help="epochs per run (default: [continuous] epochs)")
    p.add_argument("--poll", type=float, default=5.0, help="seconds between checks for saves")
    p.add_argument("--once", action="store_true",
                   help="one run (now if due, else when due), then exit")
    p.set_defaults(func=cmd_continuous)


def cmd_continuous(args) -> int:
    from napari_specimask.core.loop.continuous import watch

    for name in ("every", "epochs"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise SpecimaskError(f"--{name} must be at least 1, not {getattr(args, name)}")
    with Project.open(args.project) as project:
        s = project.settings.continuous
        s.every, s.epochs = args.every or s.every, args.epochs or s.epochs
        print(f"fine-tuning {s.epochs} epoch(s) after every {s.every} saved mask(s); "
              "Ctrl-C stops", flush=True)
        with stop_on_ctrl_c() as stop:
            def said(result):
                print(result.summary, flush=True)
                if args.once:
                    stop.set()

            rounds = drive(watch(project, stop, args.poll, on_round=said), "continuous")
        print(f"{len(rounds)} run(s)")
    return 0
