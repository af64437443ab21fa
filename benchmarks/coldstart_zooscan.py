"""Import and cold-start throughput on real plankton crops (robustness on tiny, odd sizes).

    python benchmarks/coldstart_zooscan.py [IMAGE_DIR]   # default ../shared/data/zooscan_pool

Prints images/s for import (sha256 + full decode + insert) and for each cold-start method
(read + propose + atomic PNG write + record), and what the import skipped.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from napari_specimask.core.coldstart.methods import METHODS, ColdStart
from napari_specimask.core.coldstart.proposals import propose_masks
from napari_specimask.core.exchange.image_import import import_images
from napari_specimask.core.progress import run
from napari_specimask.core.store.project import Project

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "zooscan_pool"


def main(folder: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Project.create(Path(tmp) / "bench")
        t0 = time.perf_counter()
        report = run(import_images(project, folder))
        t_import = time.perf_counter() - t0
        n = len(report.added)
        sizes = np.array([(r.height, r.width) for r in project.images()])
        print(f"images: {n} imported, {len(report.skipped)} skipped from {folder}")
        for s in report.skipped[:10]:
            print(f"  skipped {s.path}: {s.reason}")
        print(f"sizes: {sizes.min()} to {sizes.max()} px, median {int(np.median(sizes))} px")
        print(f"import: {t_import:.2f} s, {n / t_import:.0f} images/s")
        for method in METHODS:
            t0 = time.perf_counter()
            done = run(propose_masks(project, ColdStart(method)))
            dt = time.perf_counter() - t0
            fg = np.mean([a["foreground_fraction"] for a in project.annotations()
                          if a["method"] == method])
            print(f"propose {method:<10}: {dt:.2f} s, {done / dt:.0f} images/s, "
                  f"mean foreground {fg:.3f}")
        project.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
