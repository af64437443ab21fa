"""`specimask predict` on one process against the same run shared by N (Lightning DDP):
identical outputs, images per second, per process (per GPU), and peak GPU memory.

    python benchmarks/predict_ddp.py [--images 24] [--sheets 0] [--size 512]
                                     [--devices 2] [--batch-size 8] [--tta 1]

The same command runs on a laptop CPU (two ranks over gloo: the cores are shared, so the
speed figure there only shows the overhead) and unchanged on a GPU machine (one rank per
GPU over NCCL: the figure that matters). Images are demo-size images (``--images``) or
synthetic 9000 x 6000 JPEG sheets (``--sheets``, from predict_sheets.py); the model is a
random Unet/resnet34 at ``--size`` px. Both runs are real `specimask predict` processes;
the time per run is what its manifest records for the prediction itself (each rank's,
the slowest counted; process start and model loading are left out, and printed apart as
wall time). Outputs are compared byte for byte.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from predict_sheets import make_demo, make_project, make_sheets


def predict(project: Path, images: Path, out: Path, extra: list[str], env: dict) -> dict:
    """One `specimask predict` run; its manifest, with the wall time added."""
    cmd = [sys.executable, "-m", "napari_specimask", "predict", str(project), "--images",
           str(images), "--out", str(out), "--restart", *extra]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    manifest = json.loads((out / ".specimask-predict.json").read_text())
    return {**manifest, "wall": wall, "stdout": done.stdout.strip()}


def files(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*.png"))}


def line(name: str, run: dict, n: int) -> str:
    seconds = max(run["seconds"])
    per = n / seconds / run["processes"]
    gpu = run.get("peak_gpu_memory_bytes") or []
    memory = (", peak GPU memory " + " / ".join(f"{b / 2**30:.2f}" for b in gpu) + " GiB"
              if gpu else "")
    return (f"{name:<18} {n / seconds:7.2f} images/s ({per:.2f} per process; "
            f"{seconds:.1f} s predicting, {run['wall']:.1f} s wall){memory}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=24, help="demo-size images")
    ap.add_argument("--sheets", type=int, default=0, help="9000 x 6000 sheets instead")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--devices", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--tta", type=int, default=1)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) /
                    "specimask-bench-ddp")
    args = ap.parse_args()
    import torch

    images = (make_sheets(args.data / f"sheets{args.sheets}", args.sheets)[0].parent
              if args.sheets else
              make_demo(args.data / f"demo{args.images}", args.images)[0].parent)
    n = len(list(images.iterdir()))
    project = args.data / f"size{args.size}" / "project"
    make_project(project, args.size).close()
    gpus = torch.cuda.device_count()
    env = dict(os.environ)
    if not gpus:  # each CPU rank gets its share of the cores, as one process gets them all
        env["OMP_NUM_THREADS"] = str(max(1, (os.cpu_count() or 1) // args.devices))
    common = ["--batch-size", str(args.batch_size), "--tta", str(args.tta)]
    print(f"command: python benchmarks/predict_ddp.py --images {args.images} --sheets "
          f"{args.sheets} --size {args.size} --devices {args.devices} --batch-size "
          f"{args.batch_size} --tta {args.tta}")
    print(f"torch {torch.__version__}; {gpus} GPU(s) "
          f"{torch.cuda.get_device_name(0) if gpus else ''}; {os.cpu_count()} CPUs; "
          f"{n} images from {images}; unet/resnet34 at {args.size} px")
    one = predict(project, images, args.data / "out-one", common, dict(os.environ))
    ddp = predict(project, images, args.data / "out-ddp",
                  [*common, "--devices", str(args.devices), "--strategy", "ddp"], env)
    same = files(args.data / "out-one") == files(args.data / "out-ddp")
    print(line("one process", one, n))
    print(line(f"{args.devices} processes (DDP)", ddp, n))
    print(f"speed-up {max(one['seconds']) / max(ddp['seconds']):.2f}x; outputs identical: "
          f"{same}; each image once: {ddp['masks'] == n}")
    print(ddp["stdout"].splitlines()[-1])


if __name__ == "__main__":
    main()
