"""Full-size herbarium sheets through `specimask predict`: the old per-image path against
the pipeline, side by side in one run, and the pipeline against the network alone.

    python benchmarks/predict_sheets.py [--sheets 6] [--demo 8] [--size 512] [--workers 2]
                                        [--repeats 1] [--profile]

Synthetic 9000 x 6000 JPEG sheets (demo herbarium sheets upscaled, grey noise, quality 90:
~3.5 MB each, like the scans in issue 14) and demo-size images (the demo set's PNGs, at
their ~390 x 250 and ~150 x 150) go through a Unet/resnet34 at 512 px (random weights,
encoder_weights none), no TTA, batch 8:

- ``legacy``: the per-image path `specimask predict` had before the pipeline, rebuilt here
  from the project's own public functions: full decode, letterbox, network, letterbox
  inverse to a full-size float map, 8-bit PNG mask and probability map, all in one
  process;
- ``pipeline``: `predict_to_folder` as `specimask predict` runs it (reduced JPEG decode
  and writing in worker processes, 1-bit masks), with its default maps (probability at
  full size) and with ``--maps none`` (masks only);
- ``network``: the forward passes alone, on tensors prepared beforehand, in the same
  batches.

Each runs in its own process (so each has its own peak RSS; workers' peak is the largest
child's), in turn, ``--repeats`` times; the best of the repeats is reported. Times are
end to end, model loading included. Then the pipeline's output is compared with the old
path's (mask Dice, identical pixels for PNGs), and ``--profile`` prints where a sheet's
time goes, stage by stage, in one process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

SHEET_W, SHEET_H = 6000, 9000
NOISE = 0.9  # grey noise sigma: ~3.5 MB per sheet at quality 90


def make_sheets(folder: Path, n: int) -> list[Path]:
    from napari_specimask.core.demo.samples import demo_samples

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"sheet_{i:02d}.jpg" for i in range(n)]
    samples = [s for s in demo_samples(n_herbarium=n, n_plankton=0, seed=1)
               if s.name.startswith("herbarium")]
    rng = np.random.default_rng(0)
    for path, s in zip(paths, samples):
        if path.exists():
            continue
        big = np.asarray(Image.fromarray(s.image).resize((SHEET_W, SHEET_H),
                                                         Image.Resampling.BICUBIC))
        noise = rng.normal(0, NOISE, big.shape[:2]).astype(np.float32)[..., None]
        img = np.clip(big + noise + 0.5, 0, 255).astype(np.uint8)
        Image.fromarray(img).save(path, "JPEG", quality=90)
    return paths


def make_demo(folder: Path, n: int) -> list[Path]:
    from napari_specimask.core.demo.samples import demo_samples
    from napari_specimask.core.io.images import write_image

    if not folder.exists():
        for s in demo_samples(n_herbarium=n // 2, n_plankton=n - n // 2, seed=2):
            write_image(folder / f"{s.name}.png", s.image)
    return sorted(folder.iterdir())


def make_project(root: Path, size: int):
    """A project whose active model is a random Unet/resnet34 at ``size`` px."""
    import torch

    from napari_specimask.core.model.factory import create_model
    from napari_specimask.core.model.weights import ModelConfig, save_weights
    from napari_specimask.core.store.project import Project
    from napari_specimask.core.store.registry import activate, finish_version, new_version

    if (root / "specimask.toml").exists():
        return Project.open(root)
    project = Project.create(root)
    torch.manual_seed(0)
    config = ModelConfig(arch="unet", encoder="resnet34", img_size=size)
    version = new_version(project, None, 0, [], asdict(config))
    save_weights(root / "models" / version, create_model("unet", "resnet34", None)
                 .state_dict(), config)
    finish_version(project, version, "ready", {})
    activate(project, version)
    return project


def legacy(project, out_dir: Path, images_dir: Path, batch_size: int = 8,
           threshold: float = 0.5) -> int:
    """The per-image path of `specimask predict` before the pipeline (no TTA)."""
    import torch

    from napari_specimask.core.inference.tta import View, to_unit_tensor, tta_probabilities
    from napari_specimask.core.io.images import read_image, to_rgb8, write_image
    from napari_specimask.core.io.images import write_mask_png as write_8bit_mask
    from napari_specimask.core.masks.letterbox import Letterbox, to_byte
    from napari_specimask.core.model.weights import load_model

    model, config, _ = load_model(project)
    model = model.to(memory_format=torch.channels_last).eval()
    paths, n = sorted(images_dir.iterdir()), 0
    for start in range(0, len(paths), batch_size):
        batch = []
        for path in paths[start : start + batch_size]:
            img = to_rgb8(read_image(path, project.settings.images.max_pixels))
            lb = Letterbox.fit(*img.shape[:2], config.img_size)
            batch.append((path, lb, lb.apply(img)))
            del img
        probs = tta_probabilities(model, to_unit_tensor([b for _, _, b in batch]), [View()],
                                  config.mean, config.std, torch.device("cpu"), "32")
        mean = probs.mean(0).cpu().numpy()
        for i, (path, lb, _) in enumerate(batch):
            prob = lb.invert(mean[i])
            write_8bit_mask(out_dir / f"{path.stem}.png", prob >= threshold)
            write_image(out_dir / "probability" / f"{path.stem}.png", to_byte(prob))
            n += 1
    return n


def pipeline(project, out_dir: Path, images_dir: Path, workers: int, maps: str) -> int:
    from napari_specimask.core.inference.predict import predict_to_folder
    from napari_specimask.core.progress import run

    report = run(predict_to_folder(project, out_dir, images_dir=images_dir, batch_size=8,
                                   workers=workers, maps=maps, restart=True))
    return len(report.written)


def network_only(project, images_dir: Path, batch_size: int = 8,
                 warm: bool = False) -> tuple[int, float]:
    """Seconds of the forward passes alone, on inputs letterboxed beforehand, in the
    batches predict makes; ``warm``: after one untimed pass over the first batch (the
    others include their first call's set-up, as predict does)."""
    import torch

    from napari_specimask.core.inference.pipeline import ImageDataset, batches_of
    from napari_specimask.core.inference.tta import View, tta_probabilities
    from napari_specimask.core.model.weights import load_model

    model, config, _ = load_model(project)
    model = model.to(memory_format=torch.channels_last).eval()
    paths = sorted(images_dir.iterdir())
    data = ImageDataset(paths, config.img_size, None)
    inputs = [torch.from_numpy(np.stack([data[i].image for i in b])).permute(0, 3, 1, 2)
              .float().div_(255.0) for b in batches_of(range(len(paths)), batch_size)]

    def forward(x):
        tta_probabilities(model, x, [View()], config.mean, config.std, torch.device("cpu"),
                          "32")

    if warm:
        forward(inputs[0])
    t0 = time.perf_counter()
    for x in inputs:
        forward(x)
    return len(paths), time.perf_counter() - t0


def one(kind: str, root: Path, images_dir: Path, workers: int) -> dict:
    """Run one configuration in this process: seconds in all and after the model loaded
    (as the old path's 3.5 s per sheet was measured), and this process's peak RSS."""
    from napari_specimask.core.inference import predict
    from napari_specimask.core.model import weights
    from napari_specimask.core.store.project import Project

    loaded, real_load = [], weights.load_model

    def load_model(*args, **kwargs):
        out = real_load(*args, **kwargs)
        loaded.append(time.perf_counter())
        return out

    weights.load_model = predict.load_model = load_model
    project = Project.open(root / "project")
    out = root / f"out_{kind}_{images_dir.name}"
    t0 = time.perf_counter()
    if kind.startswith("network"):
        n, seconds = network_only(project, images_dir, warm=kind == "network-warm")
        after = seconds
    else:
        n = (legacy(project, out, images_dir) if kind == "legacy" else
             pipeline(project, out, images_dir, workers, kind.split("-")[1]))
        seconds = time.perf_counter() - t0
        after = time.perf_counter() - loaded[0]
    project.close()
    return {"kind": kind, "n": n, "seconds": seconds, "after_load": after,
            "rss_mb": _vm_hwm_mb()}


def _vm_hwm_mb() -> float:
    """This process's peak RSS (VmHWM; ru_maxrss would carry the parent's over exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _tree_pss_mb(pid: int) -> float:
    """Memory of ``pid`` and all its descendants now: the sum of their PSS (forked
    workers share their parent's pages; summing RSS would count those twice)."""
    parents = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    tree, todo = set(), [pid]
    while todo:
        p = todo.pop()
        tree.add(p)
        todo += [c for c, pp in parents.items() if pp == p and c not in tree]
    total = 0
    for p in tree:
        try:
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def run_one(kind: str, root: Path, images_dir: Path, workers: int) -> dict:
    """``one`` in a fresh process, its process tree's RSS sampled every 0.2 s."""
    cmd = [sys.executable, __file__, "--one", kind, "--root", str(root), "--images",
           str(images_dir), "--workers", str(workers)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0.0]

    def poll():
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_pss_mb(proc.pid))
            time.sleep(0.2)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    stdout, stderr = proc.communicate()
    watcher.join()
    if proc.returncode:
        raise SystemExit(f"{kind} failed:\n{stderr[-3000:]}")
    return {**json.loads(stdout.strip().splitlines()[-1]), "tree_mb": peak[0]}


def compare(root: Path, images_dir: Path) -> str:
    from napari_specimask.core.io.images import read_mask
    from napari_specimask.core.masks.metrics import dice_iou

    old, new = root / f"out_legacy_{images_dir.name}", root / f"out_pipeline-full_{images_dir.name}"
    dices, same = [], 0
    for path in sorted(old.glob("*.png")):
        a, b = read_mask(path, max_pixels=None), read_mask(new / path.name, max_pixels=None)
        dices.append(dice_iou(a, b)[0])
        same += bool(np.array_equal(a, b))
    return (f"masks vs old path: min Dice {min(dices):.5f}, {same} of {len(dices)} "
            f"identical")


def report(name: str, runs: list[dict]) -> None:
    best = {}
    for r in runs:
        if r["kind"] not in best or r["after_load"] < best[r["kind"]]["after_load"]:
            best[r["kind"]] = r
    n = best["legacy"]["n"]
    print(f"\n{name}: {n} image(s), best of {len(runs) // len(best)} (all runs: "
          + ", ".join(f"{r['kind']} {r['after_load']:.1f}" for r in runs) + " s)")
    print(f"{'path':<14} {'s total':>8} {'s after load':>13} {'s/image':>8} {'images/s':>9} "
          f"{'peak RSS MB':>12} {'PSS, workers too':>17}")
    for kind, r in best.items():
        a = r["after_load"]
        print(f"{kind:<14} {r['seconds']:8.2f} {a:13.2f} {a / n:8.3f} {n / a:9.3f} "
              f"{r['rss_mb']:12.0f} {r['tree_mb']:17.0f}")
    net = best["network"]["after_load"]
    for kind in ("pipeline-full", "pipeline-none"):
        a = best[kind]["after_load"]
        print(f"{kind}: {best['legacy']['after_load'] / a:.2f}x the old path's images/s "
              f"({best['legacy']['seconds'] / best[kind]['seconds']:.2f}x with model "
              f"loading); time per image {a / net:.2f}x network-only "
              f"({a / best['network-warm']['after_load']:.2f}x network-only warmed up)")


def profile(root: Path, sheet: Path) -> None:
    """Where one sheet's time goes in the pipeline, stage by stage, in one process."""
    import torch

    from napari_specimask.core.inference.tta import View, tta_probabilities
    from napari_specimask.core.io.images import read_image, to_rgb8
    from napari_specimask.core.io.png import encode_png
    from napari_specimask.core.io.reduced import read_reduced
    from napari_specimask.core.masks.letterbox import Letterbox
    from napari_specimask.core.model.weights import load_model
    from napari_specimask.core.store.project import Project

    project = Project.open(root / "project")
    model, config, _ = load_model(project)
    model = model.to(memory_format=torch.channels_last)
    out = Path(tempfile.mkdtemp())
    t = {}

    def timed(name, fn):
        t0 = time.perf_counter()
        value = fn()
        t[name] = time.perf_counter() - t0
        return value

    full = timed("old: full decode", lambda: to_rgb8(read_image(sheet)))
    lb = Letterbox.fit(*full.shape[:2], config.img_size)
    timed("old: letterbox from full size", partial(lb.apply, full))
    full = None
    red = timed("new: reduced decode", lambda: read_reduced(sheet, config.img_size))
    boxed = timed("new: letterbox from reduced", lambda: lb.apply_scaled(to_rgb8(red.pixels)))
    x = torch.from_numpy(boxed[None]).permute(0, 3, 1, 2).float().div_(255.0)
    tta_probabilities(model, x, [View()], config.mean, config.std, torch.device("cpu"), "32")
    probs = timed("network (1 image, warmed up)", lambda: tta_probabilities(
        model, x, [View()], config.mean, config.std, torch.device("cpu"), "32"))
    mean = probs.mean(0)[0].numpy()
    prob = timed("old: inverse to full-size float", lambda: lb.invert(mean))
    timed("old: 8-bit mask PNG (Pillow)", partial(_save, prob >= 0.5, out / "m8.png"))
    timed("old: probability to_byte + PNG (Pillow)", partial(_save, prob, out / "p8.png"))
    prob = None
    mask = timed("new: exact inverse, mask", lambda: lb.invert_mask(mean))
    timed("new: 1-bit mask PNG", lambda: (out / "m1.png").write_bytes(encode_png(mask)))
    byte = timed("new: exact inverse, probability", lambda: lb.invert_bytes(mean))
    timed("new: 8-bit probability PNG", lambda: (out / "p1.png").write_bytes(
        encode_png(byte)))
    print(f"\nprofile of one sheet ({sheet.name}, {red.height} x {red.width}, decoded at "
          f"1/{red.factor}), seconds, one process:")
    for name, seconds in t.items():
        print(f"  {name:<42} {seconds:6.3f}")
    sizes = {p.name: p.stat().st_size for p in out.iterdir()}
    print(f"  file sizes: {sizes}")


def _save(values: np.ndarray, path: Path) -> None:
    from napari_specimask.core.masks.letterbox import to_byte

    data = np.where(values, 255, 0).astype(np.uint8) if values.dtype == bool else \
        to_byte(values)
    Image.fromarray(data).save(path)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sheets", type=int, default=6)
    ap.add_argument("--demo", type=int, default=8, help="demo-size images (0: none)")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) /
                    "specimask-bench-sheets", help="kept between runs (sheets take a while)")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--images", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.root, args.images, args.workers)))
        return
    import torch

    root = args.data / f"size{args.size}"
    sheets = make_sheets(args.data / f"sheets{args.sheets}", args.sheets)
    make_project(root / "project", args.size).close()
    mb = np.mean([p.stat().st_size for p in sheets]) / 1e6
    print(f"command: python benchmarks/predict_sheets.py --sheets {args.sheets} --demo "
          f"{args.demo} --size {args.size} --workers {args.workers} --repeats {args.repeats}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPUs "
          f"{len(__import__('os').sched_getaffinity(0))}; unet/resnet34 at {args.size} px, "
          f"batch 8, no TTA; sheets {SHEET_W} x {SHEET_H} JPEG, {mb:.2f} MB each")
    sets = [("sheets", sheets[0].parent)]
    if args.demo:
        sets.append(("demo-size images", make_demo(args.data / f"demo{args.demo}",
                                                   args.demo)[0].parent))
    kinds = ("network", "network-warm", "legacy", "pipeline-full", "pipeline-none")
    for name, folder in sets:
        runs = [run_one(k, root, folder, args.workers) for _ in range(args.repeats)
                for k in kinds]
        report(name, runs)
        print(compare(root, folder))
    if args.profile:
        profile(root, sheets[0])


if __name__ == "__main__":
    main()
