"""TTA scoring throughput: 8 views at 512 px, Unet/resnet34, vs the machine's fp32 peak.

    python benchmarks/tta_throughput.py [--size 512] [--images 2] [--project DIR]

Three paths, measured in one run with the fp32 matmul peak:
- naive: for each image and view, flip/rotate the array, one eager NCHW forward, invert;
- engine fp32: `core.inference.tta.tta_probabilities`, all views of all images in one batched,
  channels-last, inference-mode call (what `specimask score --precision 32` runs);
- engine auto: the same under autocast (bf16 on CPUs with AMX/AVX512-BF16, fp16 on CUDA),
  the default for scoring.
Achieved FLOP/s = 8 x (one view's FLOP, FlopCounterMode) x images/s. With --project (a
trained project), it also checks that bf16 scores rank the project's images like fp32.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _machine import forward_flops, matmul_peak_flops

from napari_specimask.core.inference.tta import (
    DIHEDRAL,
    to_unit_tensor,
    tta_probabilities,
    uncertainty,
)
from napari_specimask.core.model.factory import IMAGENET_MEAN, IMAGENET_STD, create_model
from napari_specimask.core.training.samples import normalise


def naive(model, boxed):
    with torch.no_grad():
        for img in boxed:
            outs = []
            for v in DIHEDRAL:
                view = np.fliplr(img) if v.flip else img
                view = np.rot90(view, v.rot)
                y = model(normalise(np.ascontiguousarray(view))[None]).sigmoid()[0, 0].numpy()
                y = np.rot90(y, -v.rot)
                outs.append(np.fliplr(y) if v.flip else y)
            np.var(np.stack(outs), axis=0)


def timed(fn, repeats=2):
    fn()
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats


def agreement(project_dir: str) -> None:
    from scipy.stats import spearmanr

    from napari_specimask.core.active.scoring import ModelScorer, ScoreSpec
    from napari_specimask.core.store.project import Project

    with Project.open(project_dir) as project:
        records = project.images()
        scores = {}
        for precision in ("32", "auto"):
            scorer = ModelScorer(project, spec=ScoreSpec(precision=precision))
            scores[precision] = np.array([m.score for m in scorer.maps(records)])
    a, b = scores["32"], scores["auto"]
    k = max(1, len(a) // 5)
    top = len(set(np.argsort(-a)[:k]) & set(np.argsort(-b)[:k])) / k
    print(f"bf16 vs fp32 scores on {len(a)} images of {project_dir}: Spearman "
          f"{spearmanr(a, b).statistic:.4f}, mean |diff| {np.abs(a - b).mean():.5f} "
          f"(scores {a.min():.4f}..{a.max():.4f}), top-20% overlap {top:.0%}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--images", type=int, default=2, help="images per network call")
    ap.add_argument("--project", help="a trained project, for the bf16/fp32 agreement")
    args = ap.parse_args()
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    model = create_model("unet", "resnet34", None).eval()
    rng = np.random.default_rng(0)
    boxed = [rng.integers(0, 255, (args.size, args.size, 3), np.uint8)
             for _ in range(args.images)]
    flops = 8 * forward_flops(model, normalise(boxed[0])[None])
    peak = matmul_peak_flops(device=device.type)
    t_naive = timed(lambda: naive(model, boxed), 1) / args.images
    fast = model.to(memory_format=torch.channels_last)
    x = to_unit_tensor(boxed)
    results = [("naive: eager NCHW, one call per view", t_naive)]
    for precision in ("32", "auto"):
        def engine(p=precision):
            probs = tta_probabilities(fast, x, list(DIHEDRAL), IMAGENET_MEAN, IMAGENET_STD,
                                      device, p)
            uncertainty(probs, "jsd")
        results.append((f"engine, {args.images} images x 8 views per call, "
                        f"precision {precision}", timed(engine) / args.images))
    print(f"device: {device}, threads: {torch.get_num_threads()}, torch {torch.__version__}")
    print(f"Unet/resnet34 at {args.size} px, 8 views: {flops / 1e9:.0f} GFLOP per image")
    print(f"fp32 matmul peak (2048^3, best of 10): {peak / 1e9:.1f} GFLOP/s")
    for name, t in results:
        print(f"{name:<58} {1 / t:6.2f} img/s {flops / t / 1e9:7.1f} GFLOP/s "
              f"{flops / t / peak:5.2f} of fp32 peak  {t_naive / t:5.2f}x naive")
    if args.project:
        agreement(args.project)


if __name__ == "__main__":
    main()
