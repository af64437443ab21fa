"""Grid search over training settings, ranked by Dice on the project's val images.

The herbarium and plankton workflows each compared architectures, frozen vs trainable
encoders, learning rates and augmentation presets with one-off scripts. Here each
combination is an ordinary model version (so it can be inspected, compared in QA and
activated), and the table of results is rewritten after every combination, so a
stopped or crashed search keeps what it finished.
"""

from __future__ import annotations

import csv
import io
import itertools
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..errors import SpecimaskError
from ..inference.qa import evaluate_version, labelled_images
from ..io.atomic import atomic_write_bytes
from ..model.factory import ARCHS
from ..model.losses import LOSSES
from ..progress import Job, Progress, map_progress, stopped
from ..store.project import Project
from ..store.registry import activate
from ..vocabulary import GRID_KEYS
from .augment import PRESETS
from .config import TrainConfig
from .fit import train_job

CHOICES = {"arch": tuple(ARCHS), "loss": tuple(LOSSES), "augment": tuple(PRESETS)}
BOOLEANS = {"yes": True, "true": True, "1": True, "no": False, "false": False, "0": False}
GRIDS_DIR = "grids"


def parse_grid(values: dict[str, str | None]) -> dict[str, list]:
    """``{"lr": "1e-3,1e-4", "freeze_encoder": "yes,no"}`` -> typed lists of values."""
    grid: dict[str, list] = {}
    for key, text in values.items():
        if text is None:
            continue
        if key not in GRID_KEYS:
            raise SpecimaskError(f"cannot search over {key!r}; searchable: "
                                 f"{', '.join(GRID_KEYS)}")
        items = [t.strip() for t in str(text).split(",") if t.strip()]
        if not items:
            raise SpecimaskError(f"--{key.replace('_', '-')}: no values given")
        grid[key] = list(dict.fromkeys(_convert(key, t) for t in items))
    return grid


def _convert(key: str, text: str):
    kind = GRID_KEYS[key]
    flag = f"--{key.replace('_', '-')}"
    if kind is bool:
        if text.lower() not in BOOLEANS:
            raise SpecimaskError(f"{flag}: {text!r} is not yes or no")
        return BOOLEANS[text.lower()]
    if key in CHOICES and text not in CHOICES[key]:
        raise SpecimaskError(f"{flag}: unknown value {text!r}; choose from "
                             f"{', '.join(CHOICES[key])}")
    try:
        return kind(text)
    except ValueError:
        raise SpecimaskError(f"{flag}: {text!r} is not a valid {kind.__name__}") from None


def combinations(grid: dict[str, list]) -> list[dict]:
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*grid.values())]


@dataclass
class GridRow:
    params: dict
    version: str
    status: str
    val_dice: float | None
    val_iou: float | None
    n_val: int
    seconds: float


@dataclass
class GridResult:
    rows: list[GridRow]                   # best val Dice first
    csv: Path
    markdown: Path
    activated: str | None = None
    stopped: bool = False
    keys: list[str] = field(default_factory=list)

    @property
    def best(self) -> GridRow | None:
        return self.rows[0] if self.rows and self.rows[0].val_dice is not None else None


def grid_search(project: Project, base: TrainConfig, grid: dict[str, list],
                out_dir: str | Path | None = None, activate_best: bool = False,
                stop: threading.Event | None = None) -> Job[GridResult]:
    """Train every combination of ``grid`` on top of ``base``; rank by mean val Dice at
    the images' original size; write ``results.csv`` and ``results.md``."""
    combos = combinations(grid)
    if not combos:
        raise SpecimaskError("nothing to search: give at least one option with values")
    n_val = len(labelled_images(project, "val"))
    if n_val == 0:
        raise SpecimaskError(f"{project.root}: a grid search ranks on val images and there "
                             "are none with a verified mask; import some with --role val")
    out = Path(out_dir) if out_dir else (project.root / GRIDS_DIR /
                                         time.strftime("%Y%m%d-%H%M%S"))
    out.mkdir(parents=True, exist_ok=True)
    varied = [k for k, values in grid.items() if len(values) > 1] or list(grid)
    result = GridResult([], out / "results.csv", out / "results.md", keys=varied)
    for k, combo in enumerate(combos):
        if stopped(stop):
            result.stopped = True
            break
        label = ", ".join(f"{key}={value}" for key, value in combo.items())
        cfg = replace(base, **combo)
        t0 = time.perf_counter()
        head = f"[{k + 1}/{len(combos)}] {label}"
        try:
            trained = yield from map_progress(
                train_job(project, cfg, stop),
                lambda p, k=k, h=head: Progress(k, len(combos), f"{h}: {p.message}"))
            rows = yield from evaluate_version(project, trained.version, "val")
        except SpecimaskError as exc:  # e.g. out of memory at the largest size: go on
            result.rows.append(GridRow(combo, "", f"failed: {exc}", None, None, 0,
                                       round(time.perf_counter() - t0, 1)))
            write_tables(result)
            continue
        dice = float(np.mean([r.dice for r in rows])) if rows else None
        iou = float(np.mean([r.iou for r in rows])) if rows else None
        result.rows.append(GridRow(combo, trained.version, trained.status, dice, iou,
                                   len(rows), round(time.perf_counter() - t0, 1)))
        result.rows.sort(key=lambda r: np.inf if r.val_dice is None else -r.val_dice)
        write_tables(result)
        result.stopped = stopped(stop)
    if activate_best and result.best is not None:
        activate(project, result.best.version, by="rule")
        result.activated = result.best.version
    yield Progress(len(combos), len(combos), "done")
    return result


def write_tables(result: GridResult) -> None:
    """The ranked table as CSV and markdown (each written atomically)."""
    header = [*result.keys, "version", "status", "val_dice", "val_iou", "n_val", "seconds"]
    rows = [[*(r.params[k] for k in result.keys), r.version, r.status,
             "" if r.val_dice is None else f"{r.val_dice:.4f}",
             "" if r.val_iou is None else f"{r.val_iou:.4f}", r.n_val, r.seconds]
            for r in result.rows]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_bytes(result.csv, buf.getvalue().encode())
    lines = ["| rank | " + " | ".join(header) + " |", "|---" * (len(header) + 1) + "|"]
    lines += [f"| {i} | " + " | ".join(str(v) for v in row) + " |"
              for i, row in enumerate(rows, 1)]
    atomic_write_bytes(result.markdown, ("\n".join(lines) + "\n").encode())
