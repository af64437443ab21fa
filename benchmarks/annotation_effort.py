"""A person's effort per good mask, and how it falls as the model improves.

    python benchmarks/annotation_effort.py                       # the demo set, ~minutes
    python benchmarks/annotation_effort.py --images DIR --masks DIR [--out DIR]
    python benchmarks/annotation_effort.py --reference [--data ../shared/data]

A scripted annotator (``sim.annotator``, the action model is in its docstring) turns
each proposal it is shown into a mask with Dice >= 0.95 against the true mask and counts
the pixels to change and the actions: brush only, and with the one-click tools (remove
blob, fill holes, grow by probability or colour) plus corrective brushes. The default
run is a simulated active-learning run (``sim.effort_run``) on the demo set (24
herbarium sheets + 24 plankton crops with exact masks, written to a temporary folder):
8 val images, the rest the pool; 3 iterations of 6 images (iteration 0: cold-start
proposals), Unet/resnet18 from scratch at 64 px, a regular run of 80 steps after each
batch, run with continuous training off and on (a 3-epoch run of 20 steps per epoch
after every 4 saves), same seed and split. It prints per iteration and mode: images,
mean Dice of the proposals, mean pixels to change, mean actions brush only and with
tools, the ratio tools / brush; the overall ratio; every training run; the timings.

``--reference`` measures cold-start proposals only (iteration 0, no training) on the
hand-checked references (``benchmarks/reference_masks/``: 10 Violaceae sheets, 12
ZooScanNet crops, images in ``DATA/violaceae_pool`` and ``DATA/zooscan_pool``): per set
the method a new project would choose (``choose_cold_start`` on a seeded sample of 8,
no verified masks), then the effort per image.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from napari_specimask.core.coldstart.choice import choose_cold_start
from napari_specimask.core.coldstart.methods import ColdStart
from napari_specimask.core.demo.samples import demo_samples
from napari_specimask.core.io.images import (
    read_image,
    read_mask,
    to_rgb8,
    write_image,
    write_mask_png,
)
from napari_specimask.core.masks.postprocess import PostProcess
from napari_specimask.core.progress import run
from napari_specimask.core.settings import ColdStartSettings
from napari_specimask.sim.annotator import TOOLS, annotation_effort
from napari_specimask.sim.effort_run import EffortConfig, effort_run

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parents[1] / "shared" / "data"


def machine() -> str:
    import torch

    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{cpu}, {torch.get_num_threads()} threads, {device}; torch {torch.__version__}"
            f", Python {platform.python_version()}")


def write_demo(folder: Path) -> tuple[Path, Path]:
    images, masks = folder / "images", folder / "masks"
    for s in demo_samples():
        write_image(images / f"{s.name}.png", s.image)
        write_mask_png(masks / f"{s.name}.png", s.mask)
    return images, masks


def _means(rows: list[dict]) -> str:
    px = np.mean([r["pixels_to_change"] for r in rows])
    brush = np.mean([r["brush_actions"] for r in rows])
    tools = np.mean([r["tool_actions"] for r in rows])
    dice = np.mean([r["dice_before"] for r in rows])
    return (f"{len(rows)} | {dice:.3f} | {px:,.0f} | {brush:.1f} | {tools:.1f} | "
            f"{tools / brush:.2f}")


HEAD = ("| images | proposal Dice | pixels to change | actions, brush only | actions, "
        "with tools | tools / brush |")


def report_run(result) -> None:
    print(f"\n| mode | iteration | proposals shown |{HEAD[1:]}")
    print("|---|---|---|---|---|---|---|---|---|")
    for mode in dict.fromkeys(r["mode"] for r in result.rows):
        mine = [r for r in result.rows if r["mode"] == mode]
        for it in sorted({r["iteration"] for r in mine}):
            rows = [r for r in mine if r["iteration"] == it]
            shown = ", ".join(f"{k} x{n}" for k, n in Counter(r["proposal"] for r in rows)
                              .items())
            print(f"| {mode} | {it} | {shown} | {_means(rows)} |")
        print(f"| {mode} | all | | {_means(mine)} |")
        used = {t: sum(r[t] for r in mine) for t in (*TOOLS, "tool_mode_strokes")}
        print(f"|   tools used ({mode}): {used} |")
    print("\n| mode | iteration | run | after saves | version | val Dice new / current | "
          "activated | refreshed | s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for t in result.trainings:
        new = "n/a" if t["candidate_dice"] is None else f"{t['candidate_dice']:.3f}"
        old = "n/a" if t["current_dice"] is None else f"{t['current_dice']:.3f}"
        print(f"| {t['mode']} | {t['iteration']} | {t['kind']} | {t['after_saves']} | "
              f"{t['version']} | {new} / {old} | {t['activated']} | {t['refreshed']} | "
              f"{t['seconds']} |")
    print("\nThe fixed panel (role test), before each iteration and after the last:")
    print(f"\n| mode | before iteration | proposals shown |{HEAD[1:]}")
    print("|---|---|---|---|---|---|---|---|---|")
    for mode in dict.fromkeys(r["mode"] for r in result.panel):
        for it in sorted({r["iteration"] for r in result.panel if r["mode"] == mode}):
            rows = [r for r in result.panel if r["mode"] == mode and r["iteration"] == it]
            print(f"| {mode} | {it} | {rows[0]['proposal']} | {_means(rows)} |")
    print("\nseconds per mode: " + ", ".join(f"{m} {s:.0f}" for m, s in result.seconds.items()))
    print(f"rows: {result.csv}")


def simulated(args) -> None:
    cfg = EffortConfig(iterations=args.iterations, batch_size=args.batch_size,
                       n_val=args.val, n_panel=args.panel, steps=args.steps,
                       fine_tune_steps=args.fine_tune_steps,
                       img_size=args.img_size, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        if args.images is None:
            t0 = time.perf_counter()
            images, masks = write_demo(Path(tmp))
            print(f"demo set written in {time.perf_counter() - t0:.1f} s")
        else:
            images, masks = args.images, args.masks
        out = args.out or Path(tmp) / "effort"
        t0 = time.perf_counter()
        result = run(effort_run(images, masks, out, cfg),
                     lambda p: args.verbose and print(f"  {p.message}", flush=True))
        print(f"run: {time.perf_counter() - t0:.0f} s ({cfg})")
        report_run(result)


def reference(args) -> None:
    cs = ColdStartSettings()
    post = PostProcess.of(cs)
    print(f"\n| set | method (rule, sample of 8) |{HEAD[1:]} s per image |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind, pool in (("violaceae", "violaceae_pool"), ("zooscan", "zooscan_pool")):
        items = [(p.stem, to_rgb8(read_image(args.data / pool / f"{p.stem}.jpg")),
                  read_mask(p)) for p in sorted((HERE / "reference_masks" / kind).glob("*.png"))]
        idx = np.random.default_rng(0).choice(len(items), size=min(8, len(items)),
                                              replace=False)
        method = choose_cold_start([items[i][1] for i in idx], post=post).method
        rows, seconds, used = [], [], Counter()
        for name, rgb, truth in items:
            proposal = ColdStart(method, post)(rgb)
            t0 = time.perf_counter()
            e = annotation_effort(proposal, truth, rgb=rgb)
            seconds.append(time.perf_counter() - t0)
            rows.append({"dice_before": e.dice_before, "pixels_to_change": e.pixels_to_change,
                         "brush_actions": e.brush_actions, "tool_actions": e.tool_actions})
            used.update({t: getattr(e, t) for t in (*TOOLS, "tool_mode_strokes")})
            if args.verbose:
                print(f"  {kind} {name} {rgb.shape[1]}x{rgb.shape[0]}: Dice {e.dice_before:.3f}"
                      f", {e.pixels_to_change} px, {e.brush_actions} brush / {e.tool_actions} "
                      f"tool actions ({e})")
        print(f"| {kind} | {method} | {_means(rows)} | {np.mean(seconds):.2f} |")
        print(f"|   tools used ({kind}): {dict(used)} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=Path, help="a folder of images (default: the demo set)")
    ap.add_argument("--masks", type=Path, help="their true masks, paired by relative path")
    ap.add_argument("--out", type=Path, help="keep the projects and CSVs here")
    ap.add_argument("--reference", action="store_true",
                    help="cold-start effort on the real reference masks only")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=6)
    ap.add_argument("--val", type=int, default=8, help="held-out val images")
    ap.add_argument("--panel", type=int, default=6,
                    help="fixed images measured at every iteration (role test)")
    ap.add_argument("--steps", type=int, default=80, help="steps of the regular runs")
    ap.add_argument("--fine-tune-steps", type=int, default=20,
                    help="steps per epoch of the continuous runs (3 epochs)")
    ap.add_argument("--img-size", type=int, default=256,
                    help="model input (256 covers the demo sheets; at 64 a model's outline "
                         "is 5-6 px coarse on them)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--verbose", action="store_true", help="print progress / each image")
    args = ap.parse_args()
    if (args.images is None) != (args.masks is None):
        ap.error("--images and --masks go together")
    print(f"machine: {machine()}")
    t0 = time.perf_counter()
    (reference if args.reference else simulated)(args)
    print(f"total: {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
