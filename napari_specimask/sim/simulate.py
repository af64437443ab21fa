"""Active learning with an oracle: the true masks stand in for the person.

For each seed and strategy: start from ``initial`` random labelled images, then repeat
train -> test Dice -> score -> select -> "annotate". The oracle accepts a proposal as is
when its Dice against the truth reaches ``accept_dice`` (a person would not bother
fixing it) and otherwise saves the truth, so the correction counts mean what they mean
in the plankton workflow. Every run is a real project under ``OUT/runs/``.
"""

from __future__ import annotations

import csv
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from napari_specimask.core.vocabulary import MaskKind, Role, Status

from ..core.active.annotations import submit_mask
from ..core.active.queue import select_next
from ..core.active.scoring import ModelScorer, ScoreSpec
from ..core.errors import SpecimaskError
from ..core.exchange.image_import import import_files
from ..core.inference.predict import predict_images
from ..core.io.files import find_mask, list_files
from ..core.io.images import is_image_path, read_mask
from ..core.masks.metrics import dice_iou
from ..core.model.weights import load_model
from ..core.progress import Job, Progress, run, stopped
from ..core.settings import Settings
from ..core.store.project import Project
from ..core.store.registry import activate
from ..core.training.config import TrainConfig
from ..core.training.fit import train
from ..core.vocabulary import STRATEGIES

CSV_COLUMNS = ("strategy", "seed", "iteration", "n_labelled", "test_dice",
               "corrected_fraction", "train_seconds")


@dataclass
class SimConfig:
    strategies: tuple[str, ...] = STRATEGIES
    seeds: int = 3
    iterations: int = 3
    batch_size: int = 4
    initial: int = 4
    test_fraction: float = 0.25
    n_batches: int | None = None
    img_size: int = 64
    steps: int = 80           # optimizer steps per training (epochs are tiny here)
    train_batch: int = 4
    lr: float = 1e-3
    arch: str = "unet"
    encoder: str = "resnet18"  # half the step time of resnet34 at 64 px: minutes on CPU
    measure: str = "jsd"
    tta: int = 8
    accept_dice: float = 0.95
    extra: dict = field(default_factory=dict)


def pair_images(images_dir: Path, masks_dir: Path) -> list[tuple[Path, Path]]:
    pairs = []
    for path in list_files(images_dir):
        if is_image_path(path):
            mask = find_mask(masks_dir, path.relative_to(images_dir))
            if mask is not None:
                pairs.append((path, mask))
    return pairs


def simulate(images_dir: str | Path, masks_dir: str | Path, out_dir: str | Path,
             cfg: SimConfig | None = None, stop: threading.Event | None = None) -> Job[Path]:
    """Run every (seed, strategy); write ``results.csv`` and ``dice.png``; return the CSV."""
    images_dir, masks_dir, out_dir = Path(images_dir), Path(masks_dir), Path(out_dir)
    cfg = cfg or SimConfig()
    for s in cfg.strategies:
        if s not in STRATEGIES:
            raise SpecimaskError(f"unknown strategy {s!r}; choose from {', '.join(STRATEGIES)}")
    pairs = pair_images(images_dir, masks_dir)
    needed = cfg.initial + cfg.batch_size * cfg.iterations
    n_test = max(1, round(cfg.test_fraction * len(pairs)))
    if len(pairs) - n_test < needed:
        raise SpecimaskError(
            f"{images_dir}: {len(pairs)} images with masks in {masks_dir}; the pool of "
            f"{len(pairs) - n_test} cannot supply {cfg.initial} + {cfg.iterations} x "
            f"{cfg.batch_size} labels; lower --iterations or --batch-size")
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    total = cfg.seeds * len(cfg.strategies) * (cfg.iterations + 1)
    for seed in range(cfg.seeds):
        perm = np.random.default_rng(seed).permutation(len(pairs))
        test = [pairs[i] for i in perm[:n_test]]
        pool = [pairs[i] for i in perm[n_test:]]
        for strategy in cfg.strategies:
            if stopped(stop):
                break
            run_dir = out_dir / "runs" / f"{strategy}-seed{seed}"
            shutil.rmtree(run_dir, ignore_errors=True)
            for row in _one_run(run_dir, images_dir, masks_dir, pool, test, strategy,
                                seed, cfg, stop):
                rows.append(row)
                yield Progress(len(rows), total, f"{strategy} seed {seed} iteration "
                               f"{row['iteration']}: test Dice {row['test_dice']:.3f}")
    csv_path = out_dir / "results.csv"
    with open(csv_path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    plot_results(rows, out_dir / "dice.png")
    return csv_path


def _one_run(run_dir, images_dir, masks_dir, pool, test, strategy, seed, cfg, stop):
    settings = Settings(name=run_dir.name)
    settings.model.arch, settings.model.encoder = cfg.arch, cfg.encoder
    settings.model.encoder_weights, settings.model.img_size = "none", cfg.img_size
    project = Project.create(run_dir, settings)
    try:
        run(import_files(project, [p for p, _ in pool], images_dir))
        run(import_files(project, [p for p, _ in test], images_dir, masks_dir, role=Role.TEST))
        truth = {project.relpath_for(p): m for p, m in pool}
        records = {r.relpath: r for r in project.images(role=Role.POOL)}
        for rel in [project.relpath_for(p) for p, _ in pool[: cfg.initial]]:
            rec = records[rel]
            project.save_mask(rec.id, read_mask(truth[rel], (rec.height, rec.width)), "hand")
        corrected = None
        for it in range(cfg.iterations + 1):
            tcfg = TrainConfig.from_settings(
                project.settings, epochs=1, samples_per_epoch=cfg.steps * cfg.train_batch,
                batch_size=cfg.train_batch, lr=cfg.lr,
                require_val=False, val_fraction=0.0, patience=0, seed=seed, iteration=it)
            result = train(project, tcfg, stop=stop)
            activate(project, result.version, by="rule")
            n_labelled = len(project.images(role=Role.POOL, status=Status.LABELED))
            yield {"strategy": strategy, "seed": seed, "iteration": it,
                   "n_labelled": n_labelled, "test_dice": test_dice(project, result.version),
                   "corrected_fraction": corrected,
                   "train_seconds": result.metrics["seconds"]}
            if it == cfg.iterations or stopped(stop):
                break
            scorer = ModelScorer(project, result.version, ScoreSpec(cfg.measure, cfg.tta))
            sel = run(select_next(project, strategy, cfg.batch_size, n_batches=cfg.n_batches,
                                  seed=seed * 1000 + it, scorer=scorer))
            n_corrected = 0
            for image_id, _ in sel.chosen:
                rec = project.image(image_id)
                true_mask = read_mask(truth[rec.relpath], (rec.height, rec.width))
                proposal = project.load_mask(image_id, MaskKind.PROPOSAL)
                good = proposal is not None and dice_iou(proposal, true_mask)[0] >= cfg.accept_dice
                submit_mask(project, image_id, proposal if good else true_mask,
                            author="oracle")
                n_corrected += not good
            corrected = n_corrected / len(sel.chosen)
    finally:
        project.close()


def test_dice(project: Project, version: str) -> float:
    """Mean Dice of the model's masks (original size) on the project's test images."""
    model, config, _ = load_model(project, version)
    recs = {project.image_path(r): r for r in project.images(role=Role.TEST)}
    dices = []
    for pred in predict_images(model, config, list(recs), max_pixels=None):
        truth = project.load_mask(recs[pred.source].id)
        dices.append(dice_iou(pred.probability >= 0.5, truth)[0])
    return float(np.mean(dices))


def summarise(csv_path: str | Path) -> list[dict]:
    """Final-iteration test Dice per strategy: mean and spread (std, min, max) over seeds."""
    with open(csv_path) as fh:
        rows = list(csv.DictReader(fh))
    last = max(int(r["iteration"]) for r in rows)
    out = []
    for strategy in dict.fromkeys(r["strategy"] for r in rows):
        final = [r for r in rows if r["strategy"] == strategy and int(r["iteration"]) == last]
        d = np.array([float(r["test_dice"]) for r in final])
        corr = [float(r["corrected_fraction"]) for r in rows if r["strategy"] == strategy
                and r["corrected_fraction"] not in ("", "None")]
        out.append({"strategy": strategy, "iteration": last,
                    "n_labelled": int(final[0]["n_labelled"]), "seeds": len(d),
                    "dice_mean": float(d.mean()), "dice_std": float(d.std()),
                    "dice_min": float(d.min()), "dice_max": float(d.max()),
                    "mean_corrected_fraction": float(np.mean(corr)) if corr else None})
    return out


def plot_results(rows: list[dict], path: Path) -> None:
    """Test Dice against labelled images: mean line and min-max band over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    for strategy in dict.fromkeys(r["strategy"] for r in rows):
        its = sorted({r["iteration"] for r in rows if r["strategy"] == strategy})
        n = [np.mean([r["n_labelled"] for r in rows if r["strategy"] == strategy
                      and r["iteration"] == i]) for i in its]
        d = [[r["test_dice"] for r in rows if r["strategy"] == strategy and r["iteration"] == i]
             for i in its]
        ax.plot(n, [np.mean(x) for x in d], marker="o", label=strategy)
        ax.fill_between(n, [min(x) for x in d], [max(x) for x in d], alpha=0.2)
    ax.set_xlabel("annotated images")
    ax.set_ylabel("test Dice")
    ax.set_title("active learning with an oracle (band: min-max over seeds)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)



