"""Kill `specimask` with SIGKILL at random moments and count what was lost or left broken.

    python benchmarks/kill_loop.py [--kills 200] [--seed 0] [--work DIR]

Four commands, in turn: `annotate` (saving a queued batch), `import --masks`, `train` and
`select`. Each trial copies a prepared project, starts the command as a real process,
kills it after a random delay (drawn over the command's own uninterrupted run time) and
then checks, after opening the project (which tidies what the kill left):
- inconsistent: `store.integrity.check_project` finds a problem (database integrity,
  a record without its file or a file without its record, a labelled image without a
  mask), or the command's own invariant fails (an image imported without its mask, a
  version still `training`, a temp weights file, a queued image outside any iteration);
- lost: a save the command had acknowledged (printed) is not the image's current mask,
  or re-running the command does not finish the job with an uninterrupted run's counts.
A trial whose process ended before the kill is counted apart (not a kill). The crash
tests (tests/crash/) run the same scenarios with the kill at named points instead.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from napari_specimask.core.faults import KILL_AT
from napari_specimask.core.io.atomic import TMP_MARK
from napari_specimask.core.io.images import read_mask
from napari_specimask.core.store.integrity import check_project
from napari_specimask.core.store.project import Project

N_IMAGES, BATCH = 16, 12
TRAIN = ["--encoder", "resnet18", "--encoder-weights", "none", "--img-size", "32",
         "--epochs", "3", "--no-val", "--batch-size", "4"]


@dataclass
class Outcome:
    lost: int = 0
    problems: list[str] = field(default_factory=list)


def specimask(*args, env=None, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "napari_specimask", *map(str, args)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **kw)


def finish(*args) -> str:
    proc = specimask(*args)
    out, err = proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"specimask {' '.join(map(str, args))}: {err.strip()}")
    return out


def make_workspace(work: Path) -> None:
    """Images with true masks, and the prepared projects each scenario starts from."""
    rng = np.random.default_rng(0)
    for folder in ("imgs", "truth"):
        (work / folder).mkdir(parents=True)
    for i in range(N_IMAGES):
        img = np.full((48, 64, 3), 225, np.uint8)
        y, x = rng.integers(4, 20), rng.integers(4, 30)
        truth = np.zeros((48, 64), bool)
        truth[y:y + 20, x:x + 26] = True
        img[truth] = rng.integers(20, 90, 3)
        Image.fromarray(img).save(work / "imgs" / f"s{i:02d}.png")
        Image.fromarray(truth.astype(np.uint8) * 255).save(work / "truth" / f"s{i:02d}.png")
    (work / "none").mkdir()
    finish("init", work / "empty", "--images", work / "none")
    finish("init", work / "proposed", "--images", work / "imgs")
    finish("propose", work / "proposed", "--method", "otsu")
    shutil.copytree(work / "proposed", work / "queued")
    finish("select", work / "queued", "--strategy", "random", "--batch-size", BATCH)
    shutil.copytree(work / "queued", work / "labelled")
    finish("annotate", work / "labelled", "--masks", work / "truth")


# -- the scenarios: what each runs, and what must hold after a kill -----------------------


def annotate_cmd(root: Path, work: Path):
    return ("annotate", root, "--masks", work / "truth")


def annotate_check(root: Path, work: Path, out: str) -> Outcome:
    outcome = Outcome()
    with Project.open(root) as p:
        outcome.problems += check_project(p)
        by_path = {r.relpath: r for r in p.images()}
        for line in out.splitlines():  # "saved <relpath> (<origin>)": acknowledged
            if line.startswith("saved ") and line.endswith(")") and " of " not in line:
                rec = by_path[line[6:].rsplit(" (", 1)[0]]
                outcome.lost += not _matches_truth(p, rec, work)
    finish(*annotate_cmd(root, work))  # re-run: finishes the batch
    with Project.open(root) as p:
        outcome.problems += check_project(p)
        labelled = p.images(status="labeled")
        outcome.lost += BATCH - len(labelled)
        outcome.lost += sum(not _matches_truth(p, r, work) for r in labelled)
    return outcome


def import_cmd(root: Path, work: Path):
    return ("import", root, work / "imgs", "--masks", work / "truth")


def import_check(root: Path, work: Path, out: str) -> Outcome:
    outcome = Outcome()
    with Project.open(root) as p:
        outcome.problems += check_project(p)
        outcome.problems += [f"{r.relpath}: imported without its mask" for r in p.images()
                             if p.mask_path(r.id) is None]
    finish(*import_cmd(root, work))
    with Project.open(root) as p:
        outcome.problems += check_project(p)
        outcome.lost += N_IMAGES - sum(p.mask_path(r.id) is not None for r in p.images())
        outcome.lost += sum(not _matches_truth(p, r, work) for r in p.images())
    return outcome


def train_cmd(root: Path, work: Path):
    return ("train", root, *TRAIN)


def train_check(root: Path, work: Path, out: str) -> Outcome:
    outcome = Outcome()
    with Project.open(root) as p:
        outcome.problems += check_project(p)
        stuck = p.store.read("SELECT version FROM models WHERE status = 'training'")
        outcome.problems += [f"{r[0]} still 'training' after its process died" for r in stuck]
        outcome.problems += [f"{t.relative_to(root)}: temp file left"
                             for t in (root / "models").rglob(f"{TMP_MARK}*")]
        outcome.lost += sum(not _matches_truth(p, r, work) for r in p.images(status="labeled"))
        outcome.lost += BATCH - len(p.images(status="labeled"))
    return outcome


def select_cmd(root: Path, work: Path):
    return ("select", root, "--strategy", "random", "--batch-size", 4)


def select_check(root: Path, work: Path, out: str) -> Outcome:
    outcome = Outcome()
    with Project.open(root) as p:
        outcome.problems += check_project(p)
        queued = set(p.image_ids(status="queued"))
        chosen = {r[0] for r in p.store.read("SELECT image_id FROM iteration_items")}
        if queued != chosen:
            outcome.problems.append(f"queued {sorted(queued)} but chosen {sorted(chosen)}")
        for image_id in queued:
            if p.load_mask(image_id, "proposal") is None:
                outcome.problems.append(f"image {image_id}: queued without its proposal")
    finish(*select_cmd(root, work))
    return outcome


SCENARIOS = {  # name: (prepared project, command, check)
    "annotate": ("queued", annotate_cmd, annotate_check),
    "import": ("empty", import_cmd, import_check),
    "train": ("labelled", train_cmd, train_check),
    "select": ("proposed", select_cmd, select_check),
}


def _matches_truth(p: Project, rec, work: Path) -> bool:
    truth = read_mask(work / "truth" / f"{rec.name}.png")
    mask = p.load_mask(rec.id)
    return mask is not None and np.array_equal(mask, truth)


# -- running a trial -----------------------------------------------------------------------


def trial(work: Path, name: str, *, delay: float | None = None,
          kill_at: str | None = None) -> tuple[bool, Outcome]:
    """Run one scenario, killed after ``delay`` seconds or at crash point ``kill_at``.
    Returns (whether it was killed, what the check found)."""
    base, cmd, check = SCENARIOS[name]
    root = Path(tempfile.mkdtemp(dir=work, prefix=f"{name}-"))
    shutil.rmtree(root)
    shutil.copytree(work / base, root)
    env = {**os.environ, KILL_AT: kill_at} if kill_at else None
    proc = specimask(*cmd(root, work), env=env)
    if delay is not None:
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate()
    killed = proc.returncode == -signal.SIGKILL
    if not killed and proc.returncode:
        raise RuntimeError(f"{name}: exit {proc.returncode}: {err.strip()[-500:]}")
    outcome = check(root, work, out)
    shutil.rmtree(root, ignore_errors=True)
    return killed, outcome


def run_time(work: Path, name: str) -> float:
    t0 = time.perf_counter()
    trial(work, name)
    return time.perf_counter() - t0


def kill_loop(work: Path, kills: int, seed: int = 0, report=print) -> dict[str, dict]:
    """Trials in turn over the scenarios until ``kills`` processes were really killed."""
    rng = random.Random(seed)
    times = {name: run_time(work, name) for name in SCENARIOS}
    stats = {n: {"trials": 0, "kills": 0, "lost": 0, "inconsistent": 0} for n in SCENARIOS}
    names = list(SCENARIOS)
    while sum(s["kills"] for s in stats.values()) < kills:
        name = names[sum(s["trials"] for s in stats.values()) % len(names)]
        killed, outcome = trial(work, name, delay=rng.uniform(0.3, times[name]))
        s = stats[name]
        s["trials"] += 1
        s["kills"] += killed
        s["lost"] += outcome.lost
        s["inconsistent"] += bool(outcome.problems)
        for problem in outcome.problems[:3]:
            report(f"  {name}: {problem}")
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temp one)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="specimask-kill-"))
    t0 = time.perf_counter()
    make_workspace(work)
    stats = kill_loop(work, args.kills, args.seed)
    print(f"{'command':<10} {'trials':>6} {'kills':>6} {'lost':>5} {'inconsistent':>12}")
    for name, s in stats.items():
        print(f"{name:<10} {s['trials']:>6} {s['kills']:>6} {s['lost']:>5} "
              f"{s['inconsistent']:>12}")
    total = {k: sum(s[k] for s in stats.values()) for k in ("trials", "kills", "lost",
                                                               "inconsistent")}
    print(f"{'all':<10} {total['trials']:>6} {total['kills']:>6} {total['lost']:>5} "
          f"{total['inconsistent']:>12}   ({time.perf_counter() - t0:.0f} s)")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
