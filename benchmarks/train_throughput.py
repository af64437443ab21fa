"""Training throughput (images/s) through the real `train()` on the demo set.

    python benchmarks/train_throughput.py [--size 128] [--batch 8] [--steps 16]

Times optimizer steps 4..N from the progress reports (after warm-up and the first
epoch's file reads), so it measures the Lightning loop, augmentation and the network,
not the setup. On a GPU it also prints the peak GPU memory (mixed precision).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from napari_specimask.core.demo.project import create_demo_project
from napari_specimask.core.io.images import read_mask
from napari_specimask.core.progress import run
from napari_specimask.core.training.config import TrainConfig
from napari_specimask.core.training.fit import train


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--arch", default="unet")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        project = run(create_demo_project(Path(tmp) / "demo"))
        for rec in project.images(role="pool"):
            project.save_mask(rec.id, read_mask(Path(tmp) / "demo" / "truth" / f"{rec.name}.png"),
                              "hand")
        stamps: dict[int, float] = {}
        cfg = TrainConfig.from_settings(project.settings, img_size=args.size,
                                        batch_size=args.batch, epochs=1000, arch=args.arch,
                                        max_steps=args.steps, encoder_weights="none",
                                        patience=0, require_val=False)
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        train(project, cfg, on_progress=lambda p: stamps.setdefault(p.step, time.perf_counter()))
        first, last = 4, max(stamps)
        dt = stamps[last] - stamps[first]
        ips = (last - first) * args.batch / dt
        device = "cuda" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)"
        print(f"{args.arch}/resnet34, {args.size} px, batch {args.batch}, {device}, "
              f"precision {'16-mixed' if torch.cuda.is_available() else '32-true'}")
        print(f"training: {ips:.1f} images/s ({dt / (last - first):.3f} s/step over "
              f"steps {first}..{last})")
        if torch.cuda.is_available():
            print(f"peak GPU memory: {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
        project.close()


if __name__ == "__main__":
    main()
