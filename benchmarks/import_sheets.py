"""`specimask import` at collection scale: the old full-decode check of each image against
``io.validate.check_image`` (JPEG at 1/8 scale, PNG inflated only), side by side in one run.

    python benchmarks/import_sheets.py [--sheets 12] [--demo 40] [--real DIR] [--real-n 40]
                                       [--repeats 3] [--cold]

Three sets of images, each imported into a fresh project (``import_images``, exactly what
`specimask import` runs, progress bar aside) once per path and repeat, old and new in turn:

- synthetic 9000 x 6000 JPEG sheets (``predict_sheets.make_sheets``: demo herbarium sheets
  upscaled, grey noise, quality 90, ~3.5 MB each, like the scans in issue 14);
- demo-size images (the demo set's PNGs at ~390 x 250 and ~150 x 150), to show small
  images are not slower;
- with ``--real``, the first ``--real-n`` JPEGs of a folder of real sheets (e.g. the
  ~700 x 1000 px violaceae pool).

``old`` is the import as it was: the validator monkeypatched back to a full ``read_image``
decode (sha256 and the database writes unchanged). The best of ``--repeats`` is reported,
as images/s and the new/old ratio of the same run; the shapes each path recorded must be
equal. ``--cold`` also evicts the files from the page cache before each import
(``posix_fadvise``), so the figures include reading them from disk. Then where a sheet's
time goes on the new path: hashing, the check, the database insert (one transaction,
synchronous=FULL) and the rest.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from predict_sheets import SHEET_H, SHEET_W, make_demo, make_sheets  # noqa: E402

from napari_specimask.core.exchange import image_import  # noqa: E402
from napari_specimask.core.io.images import read_image  # noqa: E402
from napari_specimask.core.progress import run  # noqa: E402
from napari_specimask.core.store.project import Project  # noqa: E402


def full_decode(path, max_pixels):
    """The check import made before ``io.validate``: every pixel decoded."""
    return read_image(path, max_pixels).shape[:2]


PATHS = {"old": full_decode, "new": image_import.check_image}


@contextmanager
def patched(obj, name: str, value):
    saved = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, saved)


def evict(files: list[Path]) -> None:
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def import_once(folder: Path, work: Path, check, cold: bool) -> tuple[float, dict]:
    """Seconds to import ``folder`` into a fresh project with ``check``; the shapes it
    recorded."""
    root = Path(tempfile.mkdtemp(dir=work)) / "project"
    if cold:
        evict(sorted(folder.iterdir()))
    project = Project.create(root)
    try:
        with patched(image_import, "check_image", check):
            t0 = time.perf_counter()
            report = run(image_import.import_images(project, folder))
            seconds = time.perf_counter() - t0
        assert not report.skipped, report.skipped[:3]
        shapes = {Path(r.relpath).name: (r.height, r.width) for r in project.images()}
    finally:
        project.close()
        shutil.rmtree(root.parent)
    return seconds, shapes


def compare(name: str, folder: Path, work: Path, repeats: int, cold: bool) -> None:
    files = sorted(folder.iterdir())
    best, shapes = {"old": np.inf, "new": np.inf}, {}
    for _ in range(repeats):
        for kind, check in PATHS.items():
            seconds, shapes[kind] = import_once(folder, work, check, cold)
            best[kind] = min(best[kind], seconds)
    assert shapes["old"] == shapes["new"], "the two checks recorded different shapes"
    mb = np.mean([f.stat().st_size for f in files]) / 1e6
    h, w = np.median([s for s in shapes["new"].values()], axis=0).astype(int)
    rate = {k: len(files) / s for k, s in best.items()}
    print(f"{name}: {len(files)} images, median {w} x {h} px, {mb:.2f} MB"
          f"{', cold cache' if cold else ''}")
    for kind in PATHS:
        print(f"  {kind:4s} {rate[kind]:8.2f} images/s  ({1000 / rate[kind]:7.1f} ms each)")
    print(f"  new/old {rate['new'] / rate['old']:.1f}x; shapes identical")


def profile(folder: Path, work: Path, cold: bool) -> None:
    """Where an image's time goes on the new path (wall time of each step)."""
    spent: dict[str, float] = defaultdict(float)

    def timed(label, fn):
        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return fn(*a, **kw)
            finally:
                spent[label] += time.perf_counter() - t0
        return wrapper

    n = len(list(folder.iterdir()))
    with patched(image_import, "sha256_file", timed("sha256", image_import.sha256_file)), \
            patched(Project, "add_image", timed("database insert", Project.add_image)):
        total, _ = import_once(folder, work, timed("check", image_import.check_image), cold)
    spent["rest (walk, paths, stat)"] = total - sum(spent.values())
    print(f"where a {folder.name} image's time goes on the new path"
          f"{' (cold cache)' if cold else ''}:")
    for label, seconds in spent.items():
        print(f"  {label:26s} {1000 * seconds / n:7.1f} ms  ({100 * seconds / total:4.1f}%)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sheets", type=int, default=12)
    ap.add_argument("--demo", type=int, default=40, help="demo-size images (0: none)")
    ap.add_argument("--real", type=Path, help="a folder of real JPEG sheets")
    ap.add_argument("--real-n", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cold", action="store_true", help="also with a cold page cache")
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) /
                    "specimask-bench-sheets", help="kept between runs (sheets take a while)")
    args = ap.parse_args()
    print(f"command: python benchmarks/import_sheets.py --sheets {args.sheets} --demo "
          f"{args.demo}{f' --real {args.real} --real-n {args.real_n}' if args.real else ''}"
          f" --repeats {args.repeats}{' --cold' if args.cold else ''}")
    print(f"CPUs {len(os.sched_getaffinity(0))}; sheets {SHEET_W} x {SHEET_H} JPEG")
    sets = [("sheets", make_sheets(args.data / f"sheets{args.sheets}", args.sheets)[0].parent)]
    if args.demo:
        sets.append(("demo-size images",
                     make_demo(args.data / f"demo{args.demo}", args.demo)[0].parent))
    if args.real:
        real = args.data / f"real{args.real_n}"
        if not real.exists():
            real.mkdir(parents=True)
            for f in sorted(args.real.glob("*.jpg"))[: args.real_n]:
                shutil.copy(f, real / f.name)
        sets.append((f"real sheets ({args.real.name})", real))
    work = Path(tempfile.mkdtemp(prefix="specimask-import-bench-"))
    try:
        for name, folder in sets:
            for cold in (False, True) if args.cold else (False,):
                compare(name, folder, work, args.repeats, cold)
        for cold in (False, True) if args.cold else (False,):
            profile(sets[0][1], work, cold)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
