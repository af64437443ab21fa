"""Kill `specimask` with SIGKILL at random moments and count what was lost or left broken.

    python benchmarks/kill_loop.py [--kills 200] [--seed 0] [--work DIR]
    python benchmarks/kill_loop.py --against OLD_CHECKOUT --only annotate,import --kills 50

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

``--against`` runs the commands of another checkout (an older version, for comparison):
its projects are checked right after each kill, with no re-run (opening them here
upgrades their database, which the older version would then refuse).
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

SIZE = {"images": 16, "batch": 12}  # --images N: N images, a batch of three quarters
TRAIN = ["--encoder", "resnet18", "--encoder-weights", "none", "--img-size", "32",
         "--epochs", "3", "--max-steps", "30", "--no-val", "--batch-size", "4"]


CHILD = {"env": None, "cwd": None, "rerun": True}  # --against: the other checkout, no re-runs


@dataclass
class Outcome:
    lost: int = 0
    problems: list[str] = field(default_factory=list)


def specimask(*args, env=None, **kw) -> subprocess.Popen:
    if CHILD["env"]:
        env = {**(env or os.environ), **CHILD["env"]}
    # `python -m` looks in the working folder first: run in the checkout under test
    return subprocess.Popen([sys.executable, "-m", "napari_specimask", *map(str, args)],
                            env=env, cwd=CHILD["cwd"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


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
    for i in range(SIZE["images"]):
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
    finish("select", work / "queued", "--strategy", "random", "--batch-size", SIZE["batch"])
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
    if not CHILD["rerun"]:
        return outcome
    finish(*annotate_cmd(root, work))  # re-run: finishes the batch
    with Project.open(root) as p:
        outcome.problems += check_project(p)
        labelled = p.images(status="labeled")
        outcome.lost += SIZE["batch"] - len(labelled)
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
    if not CHILD["rerun"]:
        return outcome
    finish(*import_cmd(root, work))
    with Project.open(root) as p:
        outcome.problems += check_project(p)
        outcome.lost += SIZE["images"] - sum(p.mask_path(r.id) is not None for r in p.images())
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
        outcome.lost += SIZE["batch"] - len(p.images(status="labeled"))
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
    if CHILD["rerun"]:
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


def kill_loop(work: Path, kills: int, seed: int = 0, report=print,
              names: list[str] | None = None) -> dict[str, dict]:
    """Trials in turn over the scenarios until ``kills`` processes were really killed."""
    rng = random.Random(seed)
    names = names or list(SCENARIOS)
    times = {name: run_time(work, name) for name in names}
    stats = {n: {"trials": 0, "kills": 0, "lost": 0, "inconsistent": 0} for n in names}
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
        done = sum(s["kills"] for s in stats.values())
        if killed and done % 25 == 0:
            report(f"{done} kills so far", file=sys.stderr)
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temp one)")
    parser.add_argument("--only", help=f"comma list of {','.join(SCENARIOS)}")
    parser.add_argument("--against", type=Path, help="run another checkout's commands")
    parser.add_argument("--images", type=int, default=SIZE["images"],
                        help="images per project: more make each command's work (where a "
                        "kill can land) longer than its start-up")
    args = parser.parse_args()
    SIZE.update(images=args.images, batch=max(4, args.images * 3 // 4))
    if args.against:
        CHILD.update(env={"PYTHONPATH": str(args.against.resolve())},
                     cwd=str(args.against.resolve()), rerun=False)
    work = args.work or Path(tempfile.mkdtemp(prefix="specimask-kill-"))
    t0 = time.perf_counter()
    make_workspace(work)
    stats = kill_loop(work, args.kills, args.seed,
                      names=args.only.split(",") if args.only else None)
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
