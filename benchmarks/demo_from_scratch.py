"""Does a network trained from scratch on CPU beat the cold-start methods on the demo set?

    python benchmarks/demo_from_scratch.py [--img-size 192] [--epochs 80] [--loss tversky]

Everything goes through the `specimask` command, as a person would run it:
build the demo set; make a project whose 32 pool images carry their true masks (standing
in for a person's verified masks), with the 8 val and 8 test images; train from scratch
(encoder weights none); predict the test images; evaluate against the truth; then the
best cold-start method on the same test images. Prints both Dice figures and the time.
"""

from __future__ import annotations

import argparse
import atexit
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPECIMASK = [sys.executable, "-m", "napari_specimask"]


def sm(*args) -> str:
    out = subprocess.run([*SPECIMASK, *map(str, args)], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"specimask {' '.join(map(str, args))} failed:\n{out.stderr}")
    return out.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--img-size", type=int, default=192)
    ap.add_argument("--epochs", type=int, default=80)
    ap.add_argument("--loss", default="tversky")
    ap.add_argument("--augment", default="basic")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--work", type=Path, help="keep the folders here (default: temp)")
    args = ap.parse_args()
    work = args.work
    if work is None:
        work = Path(tempfile.mkdtemp(prefix="specimask-bench-"))
        atexit.register(shutil.rmtree, work, ignore_errors=True)
    demo, proj = work / "demo", work / "project"
    sm("demo", "--out", demo, "--no-viewer")
    sm("init", proj, "--images", demo / "images" / "pool", "--masks", demo / "truth")
    sm("import", proj, demo / "images" / "val", "--masks", demo / "truth", "--role", "val")
    sm("import", proj, demo / "images" / "test", "--masks", demo / "truth", "--role", "test")
    t0 = time.perf_counter()
    print(sm("train", proj, "--encoder-weights", "none", "--img-size", args.img_size,
             "--epochs", args.epochs, "--loss", args.loss, "--augment", args.augment,
             "--lr", args.lr, "--batch-size", args.batch_size, "--patience", 0).strip())
    train_s = time.perf_counter() - t0
    sm("predict", proj, "--images", demo / "images" / "test", "--out", work / "pred")
    model = json.loads(sm("evaluate", work / "pred", demo / "truth", "--json"))
    print(f"trained from scratch: test Dice {model['mean_dice']:.4f}, IoU "
          f"{model['mean_iou']:.4f} on {model['n_images']} images; training {train_s:.0f} s")
    best = None
    for method in ("otsu", "background", "kmeans"):
        sm("propose", proj, "--method", method, "--include-labeled")
        sm("export", proj, "--which", "coldstart", "--role", "test", "--out", work / method)
        r = json.loads(sm("evaluate", work / method, demo / "truth", "--json"))
        print(f"cold start {method:<10}: test Dice {r['mean_dice']:.4f}, IoU {r['mean_iou']:.4f}")
        best = max(best or (0, ""), (r["mean_dice"], method))
    print(f"model - best cold start ({best[1]}): {model['mean_dice'] - best[0]:+.4f} Dice")
    for s in model["images"]:
        print(f"  {s['name']}: {s['dice']:.3f}")


if __name__ == "__main__":
    main()
