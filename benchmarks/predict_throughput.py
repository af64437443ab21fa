"""Prediction throughput at 512 px vs the machine's measured fp32 matmul peak.

    python benchmarks/predict_throughput.py [--size 512] [--batch 8] [--arch unet]

Runs the production path (`core.inference.tta.tta_probabilities` with the identity view, as
`specimask predict` does: batched, channels-last, inference mode, fp32 on CPU) on
letterboxed images and, for comparison, a naive eager NCHW forward of one image at a
time. Achieved FLOP/s = model FLOP per image (FlopCounterMode) x images/s; the fraction of
peak divides it by a best-of-10 2048^3 fp32 matmul, measured in this run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _machine import forward_flops, matmul_peak_flops

from napari_specimask.core.inference.tta import View, to_unit_tensor, tta_probabilities
from napari_specimask.core.model.factory import create_model
from napari_specimask.core.model.weights import ModelConfig
from napari_specimask.core.training.samples import normalise


def timed(fn, repeats: int) -> float:
    fn()  # warm up
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--arch", default="unet")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    model = create_model(args.arch, "resnet34", None).eval().to(device)
    cfg = ModelConfig(arch=args.arch, img_size=args.size)
    rng = np.random.default_rng(0)
    boxed = [rng.integers(0, 255, (args.size, args.size, 3), np.uint8) for _ in range(args.batch)]
    x1 = normalise(boxed[0])[None].to(device)
    flops = forward_flops(model, x1)
    peak = matmul_peak_flops(device=device.type)

    def naive():
        with torch.no_grad():
            for b in boxed:
                model(normalise(b)[None].to(device))

    t_naive = timed(naive, args.repeats) / args.batch
    model_cl = model.to(memory_format=torch.channels_last)
    x01 = to_unit_tensor(boxed)
    t_fast = timed(lambda: tta_probabilities(model_cl, x01, [View()], cfg.mean, cfg.std, device,
                                             "32"), args.repeats) / args.batch
    print(f"device: {device}, threads: {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"model: {args.arch}/resnet34 at {args.size} px: {flops / 1e9:.1f} GFLOP per image")
    print(f"fp32 matmul peak (2048^3, best of 10): {peak / 1e9:.1f} GFLOP/s")
    for name, t in (("naive eager NCHW, 1 image/call", t_naive),
                    (f"predict path (batch {args.batch}, channels-last)", t_fast)):
        print(f"{name:<45} {1 / t:7.2f} img/s  {flops / t / 1e9:7.1f} GFLOP/s  "
              f"{flops / t / peak:5.2f} of peak")
    print(f"speed-up over naive: {t_naive / t_fast:.2f}x")


if __name__ == "__main__":
    main()
