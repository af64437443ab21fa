"""Annotation effort through a simulated active-learning run (``sim.annotator``).

From a folder of images and one of true masks, a real project is built per mode under
``OUT/<mode>/``: a seeded ``n_val`` images are imported with their masks as role val
(what the proposal gate judges on), the rest is the pool and gets cold-start proposals
as a new project does (the method chosen by ``project_cold_start``). Each iteration
selects a batch (stochastic once a model is active; before that the random fallback,
whose proposals are cold start), and for each chosen image in order the scripted
annotator reads the proposal it is shown with *now* (continuous training refreshes the
proposals of queued images), the active model's probability map (at original size) and
the image, counts the effort, and saves the true mask with ``submit_mask``. With
``continuous`` on, after each save a ``fine_tune_round`` runs when one is ``due``,
synchronously: idealised, the person waits for the run (in the GUI it runs in the
background and the person carries on meanwhile). After the batch a regular run
(``train_and_gate``, from scratch, ``steps`` optimizer steps) may replace the proposals.

A fixed panel of ``n_panel`` images (role test, with their masks) is measured before
each iteration and after the last (``effort_panel``): the effort the proposals shown at
that point would cost, apart from how hard the chosen batches were. Writes
``effort.csv`` (one row per annotated image), ``panel.csv`` and ``trainings.csv`` (one
row per training run) under ``OUT``.
"""

from __future__ import annotations

import csv
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from napari_specimask.core.vocabulary import COLD_START, MaskKind, Role

from ..core.active.annotations import submit_mask
from ..core.active.queue import proposal_spec, select_next
from ..core.active.scoring import ModelScorer
from ..core.coldstart.proposals import project_cold_start, propose_masks
from ..core.errors import SpecimaskError
from ..core.exchange.image_import import import_files
from ..core.io.images import read_mask, to_rgb8
from ..core.loop.continuous import due, fine_tune_round
from ..core.loop.gate import train_and_gate
from ..core.progress import Job, Progress, map_progress, stopped
from ..core.settings import Settings
from ..core.store.iterations import proposal_source
from ..core.store.project import Project
from ..core.store.registry import active_version
from ..core.store.verdicts import cold_start_name
from ..core.training.config import TrainConfig
from .annotator import annotation_effort
from .effort_panel import panel_effort
from .simulate import SimConfig, pair_images

MODES = ("off", "continuous")
CSV_COLUMNS = ("mode", "iteration", "image", "proposal", "active_model", "dice_before",
               "pixels_to_change", "brush_actions", "tool_actions", "brush_strokes",
               "remove_blob", "fill_object_holes", "grow_probability", "grow_colour",
               "tool_mode_strokes", "effort_seconds")
PANEL_COLUMNS = ("mode", "iteration", "image", "proposal", "dice_before",
                 "pixels_to_change", "brush_actions", "tool_actions")
TRAIN_COLUMNS = ("mode", "iteration", "kind", "after_saves", "version", "activated",
                 "candidate_dice", "current_dice", "refreshed", "seconds")


@dataclass
class EffortConfig:
    modes: tuple[str, ...] = MODES
    iterations: int = 3
    batch_size: int = 6
    n_val: int = 8
    n_panel: int = 6             # fixed images (role test) measured at every iteration
    every: int | None = None     # [continuous] every (None: the project default)
    epochs: int | None = None    # [continuous] epochs (None: the project default)
    fine_tune_steps: int = 20    # optimizer steps per epoch of a continuous run
    steps: int = 80              # optimizer steps of the regular run after each batch
    train_batch: int = 4
    img_size: int = SimConfig.img_size  # small enough for minutes on a CPU
    arch: str = SimConfig.arch
    encoder: str = SimConfig.encoder
    tta: int = 8
    seed: int = 0


@dataclass
class EffortResult:
    rows: list[dict] = field(default_factory=list)
    trainings: list[dict] = field(default_factory=list)
    panel: list[dict] = field(default_factory=list)
    csv: Path | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # per mode


def effort_run(images_dir: str | Path, masks_dir: str | Path, out_dir: str | Path,
               cfg: EffortConfig | None = None,
               stop: threading.Event | None = None) -> Job[EffortResult]:
    """Run every mode of ``cfg.modes`` on the same split and seed; write the CSVs."""
    images_dir, masks_dir, out_dir = Path(images_dir), Path(masks_dir), Path(out_dir)
    cfg = cfg or EffortConfig()
    unknown = [m for m in cfg.modes if m not in MODES]
    if unknown:
        raise SpecimaskError(f"unknown mode(s) {', '.join(unknown)}; choose from "
                             f"{', '.join(MODES)}")
    pairs = pair_images(images_dir, masks_dir)
    needed = cfg.n_val + cfg.n_panel + cfg.iterations * cfg.batch_size
    if len(pairs) < needed or cfg.n_val < 1:
        raise SpecimaskError(f"{images_dir}: {len(pairs)} images with masks in {masks_dir};"
                             f" {cfg.n_val} val + {cfg.iterations} x {cfg.batch_size} "
                             "annotated need more (and at least 1 val image)")
    perm = np.random.default_rng(cfg.seed).permutation(len(pairs))
    val = [pairs[i] for i in perm[: cfg.n_val]]
    panel = [pairs[i] for i in perm[cfg.n_val: cfg.n_val + cfg.n_panel]]
    pool = [pairs[i] for i in perm[cfg.n_val + cfg.n_panel:]]
    out_dir.mkdir(parents=True, exist_ok=True)
    result = EffortResult()
    for mode in cfg.modes:
        if stopped(stop):
            break
        t0 = time.perf_counter()
        run_dir = out_dir / mode
        shutil.rmtree(run_dir, ignore_errors=True)
        project = yield from _make_project(run_dir, images_dir, masks_dir, pool, val,
                                           panel, cfg)
        try:
            yield from _one_mode(project, mode, images_dir, pool, cfg, result, stop)
        finally:
            project.close()
        result.seconds[mode] = time.perf_counter() - t0
    result.csv = _write(out_dir / "effort.csv", CSV_COLUMNS, result.rows)
    _write(out_dir / "trainings.csv", TRAIN_COLUMNS, result.trainings)
    _write(out_dir / "panel.csv", PANEL_COLUMNS, result.panel)
    return result


def _write(path: Path, columns, rows) -> Path:
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def _labelled(job: Job, label: str) -> Job:
    """A sub-job's reports, prefixed with which part of the run they belong to."""
    return map_progress(job, lambda p: Progress(
        getattr(p, "done", 0), getattr(p, "total", 0), f"{label}: {getattr(p, 'message', '')}"))


def _make_project(run_dir: Path, images_dir: Path, masks_dir: Path, pool, val, panel,
                  cfg: EffortConfig) -> Job[Project]:
    """A project as simulate builds it: from scratch at a small size, val with masks,
    the pool with cold-start proposals; fine-tuning epochs of ``fine_tune_steps``."""
    settings = Settings(name=run_dir.name)
    settings.model.arch, settings.model.encoder = cfg.arch, cfg.encoder
    settings.model.encoder_weights, settings.model.img_size = "none", cfg.img_size
    settings.train.batch_size = cfg.train_batch
    settings.train.samples_per_epoch = cfg.fine_tune_steps * cfg.train_batch
    settings.selection.tta = cfg.tta
    if cfg.every is not None:
        settings.continuous.every = cfg.every
    if cfg.epochs is not None:
        settings.continuous.epochs = cfg.epochs
    project = Project.create(run_dir, settings)
    yield from _labelled(import_files(project, [p for p, _ in pool], images_dir), "import")
    yield from _labelled(import_files(project, [p for p, _ in val], images_dir, masks_dir,
                                      role=Role.VAL), "import val")
    if panel:
        yield from _labelled(import_files(project, [p for p, _ in panel], images_dir,
                                          masks_dir, role=Role.TEST), "import panel")
    cold, _ = yield from _labelled(project_cold_start(project), "cold start")
    yield from _labelled(propose_masks(project, cold, image_ids=project.image_ids(
        role=Role.POOL)), "cold start")
    return project


def _one_mode(project: Project, mode: str, images_dir: Path, pool, cfg: EffortConfig,
              result: EffortResult, stop) -> Job[None]:
    # the project's relpath -> (true mask, the image's path under images_dir)
    truth = {project.relpath_for(p): (m, p.relative_to(images_dir).as_posix())
             for p, m in pool}
    total = cfg.iterations * cfg.batch_size
    scorers: dict[str, ModelScorer] = {}
    done = 0
    for it in range(cfg.iterations):
        result.panel += yield from _labelled(panel_effort(project, {
            "mode": mode, "iteration": it}), f"{mode} iteration {it}: panel")
        scorer = _scorer(project, scorers)
        sel = yield from _labelled(select_next(
            project, "stochastic", cfg.batch_size, n_batches=project.settings.selection
            .n_batches or None, seed=cfg.seed * 1000 + it, scorer=scorer, stop=stop,
            fallback=True), f"{mode} iteration {it}: selection")
        for image_id, _ in sel.chosen:
            if stopped(stop):
                return
            row = _annotate(project, image_id, truth, scorers)
            result.rows.append({"mode": mode, "iteration": it, **row})
            done += 1
            yield Progress(done, total, f"{mode} iteration {it}: {row['image']} Dice "
                           f"{row['dice_before']:.3f}, {row['brush_actions']} brush / "
                           f"{row['tool_actions']} tool actions")
            if mode == "continuous" and due(project):
                yield from _fine_tune(project, mode, it, done, result, stop)
        yield from _regular(project, mode, it, done, cfg, result, stop)
    result.panel += yield from _labelled(panel_effort(project, {
        "mode": mode, "iteration": cfg.iterations}), f"{mode}: panel after the run")


def _scorer(project: Project, scorers: dict) -> ModelScorer | None:
    """The active model's scorer (loaded once per version), or None before any."""
    version = active_version(project)
    if version is None:
        return None
    if version not in scorers:
        scorers[version] = ModelScorer(project, version, proposal_spec(project))
    return scorers[version]


def _probability(project: Project, record, scorers: dict) -> np.ndarray | None:
    """The active model's probability map at the image's size (Predictions shows it)."""
    scorer = _scorer(project, scorers)
    if scorer is None:
        return None
    maps = next(iter(scorer.maps([record])))
    return maps.letterbox.invert(maps.mean)


def _annotate(project: Project, image_id: int, truth: dict, scorers: dict) -> dict:
    """Effort for the proposal the image is shown with now; then save the truth."""
    record = project.image(image_id)
    mask_path, name = truth[record.relpath]
    true_mask = read_mask(mask_path, (record.height, record.width))
    proposal = project.load_mask(image_id, MaskKind.PROPOSAL)
    source = proposal_source(project, image_id)
    shown = cold_start_name(project) if source == COLD_START else (source or "none")
    rgb = to_rgb8(project.read_image(record))
    probability = _probability(project, record, scorers)
    t0 = time.perf_counter()
    effort = annotation_effort(proposal, true_mask, rgb, probability)
    seconds = time.perf_counter() - t0
    submit_mask(project, image_id, true_mask, author="oracle")
    out = {k: v for k, v in asdict(effort).items() if k in CSV_COLUMNS}
    return {"image": name, "proposal": shown,
            "active_model": active_version(project) or "", **out,
            "effort_seconds": round(seconds, 3)}


def _fine_tune(project, mode, it, done, result: EffortResult, stop) -> Job[None]:
    t0 = time.perf_counter()
    rnd = yield from _labelled(fine_tune_round(project, stop),
                               f"{mode} iteration {it}: continuous run")
    result.trainings.append(_training_row(mode, it, "continuous", done, rnd.gated,
                                          len(rnd.refreshed), time.perf_counter() - t0))


def _regular(project, mode, it, done, cfg: EffortConfig, result: EffortResult,
             stop) -> Job[None]:
    tcfg = TrainConfig.from_settings(
        project.settings, iteration=it, epochs=1, samples_per_epoch=cfg.steps * cfg.train_batch,
        max_steps=cfg.steps, patience=0, seed=cfg.seed)
    t0 = time.perf_counter()
    gated = yield from _labelled(train_and_gate(project, tcfg, "better", stop),
                                 f"{mode} iteration {it}: training")
    result.trainings.append(_training_row(mode, it, "regular", done, gated, 0,
                                          time.perf_counter() - t0))


def _training_row(mode, it, kind, done, gated, refreshed, seconds) -> dict:
    verdict = gated.verdict
    return {"mode": mode, "iteration": it, "kind": kind, "after_saves": done,
            "version": gated.trained.version, "activated": gated.activated,
            "candidate_dice": None if verdict is None else verdict.candidate_dice,
            "current_dice": None if verdict is None else verdict.current_dice,
            "refreshed": refreshed, "seconds": round(seconds, 1)}
