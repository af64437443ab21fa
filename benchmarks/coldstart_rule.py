"""How well the per-project cold-start rule (``choose_cold_start``) picks a method.

    python benchmarks/coldstart_rule.py [--data DIR] [--samples 10] [--k 8] [--keep-frame]

Every method runs with a new project's post-processing (``ColdStartSettings``: frames
along the image border dropped); ``--keep-frame`` measures without that step.

``--data`` holds ``violaceae_pool/`` and ``zooscan_pool/`` (default ``../shared/data``);
the real sets are the hand-checked references in ``benchmarks/reference_masks/``.
For each set (demo herbarium, demo plankton, demo mixed = both, zooscan references,
violaceae references) it prints, as mean Dice over the whole set:

- each fixed method (what a project gets if everyone used that method);
- ``rule``: the method ``choose_cold_start`` picks from a seeded sample of ``k`` images
  (no verified masks: the proxy rule, as a new project would run it);
- ``oracle``: the best fixed method, known only with true masks;
- ``per image``: each image proposed with the method of highest ``proxy_score`` on it;
- how often each method was chosen over ``--samples`` more random samples of ``k``, and
  the mean Dice those choices give;
- the time ``choose_cold_start`` takes on ``k`` images of the set.

A second table takes the rule apart on the same samples (from the proxies already
measured): the median alone, the median with the failure gate, and the full rule (gate
and near-tie broken by the mean), plus the plain mean for comparison.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from napari_specimask.core.coldstart import choice as coldstart_choice
from napari_specimask.core.coldstart.choice import (
    choose_cold_start,
    choose_from_scores,
    proxy_score,
)
from napari_specimask.core.coldstart.methods import METHODS, ColdStart
from napari_specimask.core.demo.samples import demo_samples
from napari_specimask.core.io.images import read_image, read_mask, to_rgb8
from napari_specimask.core.masks.metrics import dice_iou
from napari_specimask.core.masks.postprocess import PostProcess
from napari_specimask.core.settings import ColdStartSettings

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data"


def load_sets(data: Path) -> dict[str, list[tuple[str, np.ndarray, np.ndarray]]]:
    demo = demo_samples()
    herb = [(s.name, s.image, s.mask) for s in demo if s.kind == "herbarium"]
    plank = [(s.name, s.image, s.mask) for s in demo if s.kind == "plankton"]
    sets = {"demo herbarium": herb, "demo plankton": plank, "demo mixed": herb + plank}
    for label, kind, pool in (("zooscan references", "zooscan", "zooscan_pool"),
                              ("violaceae references", "violaceae", "violaceae_pool")):
        sets[label] = [
            (p.stem, to_rgb8(read_image(data / pool / f"{p.stem}.jpg")), read_mask(p))
            for p in sorted((HERE / "reference_masks" / kind).glob("*.png"))
        ]
    return sets


def evaluate(items, samples: int, k: int, post: PostProcess) -> dict:
    methods = list(METHODS)
    dice = {m: [] for m in methods}
    proxy = {m: [] for m in methods}
    for _, rgb, truth in items:
        for m in methods:
            mask = ColdStart(m, post)(rgb)
            dice[m].append(dice_iou(mask, truth)[0])
            proxy[m].append(proxy_score(rgb, mask))
    fixed = {m: float(np.mean(dice[m])) for m in methods}
    per_image = float(np.mean([dice[max(methods, key=lambda m: proxy[m][i])][i]
                               for i in range(len(items))]))
    k = min(k, len(items))
    picks, seconds = [], []
    for seed in range(samples + 1):  # seed 0 is "the rule"; 1.. are the repeats
        idx = np.random.default_rng(seed).choice(len(items), size=k, replace=False)
        t0 = time.perf_counter()
        choice = choose_cold_start([items[i][1] for i in idx], post=post)
        seconds.append(time.perf_counter() - t0)
        picks.append(choice.method)
    repeats = picks[1:]
    variants = {}
    for name, gate, near, use_mean in VARIANTS:
        chosen = []
        for seed in range(1, samples + 1):
            idx = np.random.default_rng(seed).choice(len(items), size=k, replace=False)
            scores = {m: [proxy[m][i] for i in idx] for m in methods}
            if use_mean:
                chosen.append(max(methods, key=lambda m: np.mean(scores[m])))
                continue
            saved = coldstart_choice.FAIL_SHARE, coldstart_choice.NEAR
            coldstart_choice.FAIL_SHARE = coldstart_choice.FAIL_SHARE if gate else 1.0
            coldstart_choice.NEAR = coldstart_choice.NEAR if near else 0.0
            try:
                chosen.append(choose_from_scores(scores).method)
            finally:
                coldstart_choice.FAIL_SHARE, coldstart_choice.NEAR = saved
        variants[name] = (float(np.mean([fixed[m] for m in chosen])),
                          {m: chosen.count(m) for m in methods})
    return dict(
        n=len(items), fixed=fixed, rule=fixed[picks[0]], rule_method=picks[0],
        oracle=max(fixed.values()), oracle_method=max(methods, key=fixed.get),
        per_image=per_image,
        counts={m: repeats.count(m) for m in methods},
        repeats_dice=float(np.mean([fixed[m] for m in repeats])) if repeats else float("nan"),
        seconds=float(np.median(seconds)),
        variants=variants,
    )


# (name, failure gate, near-tie by the mean, plain mean instead of the median)
VARIANTS = (("median only", False, False, False), ("median + failure gate", True, False, False),
            ("rule (gate + near tie)", True, True, False), ("mean", False, False, True))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--samples", type=int, default=10, help="extra random samples")
    ap.add_argument("--k", type=int, default=8, help="images per sample")
    ap.add_argument("--keep-frame", action="store_true",
                    help="do not drop objects along the image border (old post-processing)")
    args = ap.parse_args()
    cs = ColdStartSettings()
    post = PostProcess(cs.kernel, cs.iters, cs.fill_holes, cs.min_size,
                       cs.drop_frame and not args.keep_frame)
    sets = load_sets(args.data)
    methods = list(METHODS)
    print(f"| set | n | {' | '.join(methods)} | rule (sample of {args.k}) | oracle | "
          f"per image | chosen over {args.samples} samples | s per choice |")
    print("|---|---|" + "---|" * (len(methods) + 5))
    results = {}
    for label, items in sets.items():
        r = results[label] = evaluate(items, args.samples, args.k, post)
        fixed = " | ".join(f"{r['fixed'][m]:.3f}" for m in methods)
        counts = ", ".join(f"{m} {c}" for m, c in r["counts"].items() if c)
        print(f"| {label} | {r['n']} | {fixed} | {r['rule']:.3f} ({r['rule_method']}) | "
              f"{r['oracle']:.3f} ({r['oracle_method']}) | {r['per_image']:.3f} | "
              f"{counts} (Dice {r['repeats_dice']:.3f}) | {r['seconds']:.2f} |")
    print(f"\nMean Dice of the choices over the {args.samples} samples of {args.k} "
          "(and how often each method was chosen):\n")
    print("| variant | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for name, *_ in VARIANTS:
        cells = []
        for r in results.values():
            dice, counts = r["variants"][name]
            cells.append(f"{dice:.3f} ({', '.join(f'{m[0]}{c}' for m, c in counts.items() if c)})")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
