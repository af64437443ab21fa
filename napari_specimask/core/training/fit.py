"""Training on Lightning: the network side of the loop, shared by the CLI and the GUI.

``train()`` builds the data from the project store, runs ``Trainer.fit`` and registers a
new model version. It reports ``TrainProgress`` through a callback and stops at the next
step once ``stop`` is set; the best weights so far (by val Dice, else the latest) are
always on disk, written atomically, so a stop or a crash leaves a usable model. A run
over several devices or nodes (Lightning's DDP) is one version too: rank zero alone
reads the store, registers and writes (docs/scale.md).
"""

from __future__ import annotations

import contextlib
import logging
import math
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import lightning as L
import torch

from ..devices import parse_devices
from ..errors import SpecimaskError
from ..model.factory import create_model, resolve_encoder_weights
from ..model.weights import ModelConfig, load_model
from ..progress import Job, threaded
from ..store.iterations import SEEN_UPTO, annotation_mark
from ..store.project import MODELS_DIR, Project
from ..store.registry import active_version, finish_version, new_version
from ..vocabulary import COLD_START
from .callbacks import KeepBest, Report, TrainProgress, TwoStage
from .config import TrainConfig
from .holdout import hold_out_validation
from .module import ProjectDataModule, SegModule, quiet_lightning

FOLLOWER = "follower"  # the status of a rank other than zero: rank zero registers the run


@dataclass
class TrainResult:
    version: str
    status: str  # "ready" or "stopped"; FOLLOWER on the other ranks of a distributed run
    metrics: dict
    rank: int = 0  # this process's global rank in a distributed run


def train(project: Project, cfg: TrainConfig,
          on_progress: Callable[[TrainProgress], None] | None = None,
          stop: threading.Event | None = None, parent: str | None = None,
          distributed: bool = False) -> TrainResult:
    """Train a new model version on the project's verified masks and register it.

    With several devices or nodes every process runs this (Lightning starts the other
    local ranks by running the same command again; SLURM's ``srun`` starts them all).
    Rank zero alone holds out validation images, reads the samples, registers the version
    and writes its weights, logs and metrics; the other ranks train on what rank zero
    broadcasts, write nothing and return status ``FOLLOWER``. Only a caller that can be
    run again as a whole on every rank (``specimask train``) says ``distributed``; the
    GUI, rounds, grids and continuous training train in this process (``in_process``).
    """
    cfg.check()
    if not distributed:
        cfg = in_process(cfg)
    quiet_lightning()
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    # fine-tuning replaces every weight with the parent's: no encoder weights to look
    # for, and no "from scratch" note about a run that is not
    weights, weights_note = ("none", None) if cfg.init_from else \
        resolve_encoder_weights(cfg.encoder, cfg.encoder_weights)
    if weights_note:
        logging.getLogger("napari_specimask").warning(weights_note)
    network = create_model(cfg.arch, cfg.encoder, weights,
                           freeze_encoder=cfg.freeze_encoder or cfg.two_stage)
    if cfg.init_from:  # record the version actually used (not "active"), and its start
        parent_version, weights = start_from(project, network, cfg)
        cfg = replace(cfg, init_from=parent_version)
    cfg = replace(cfg, encoder_weights=weights)  # what was used, not "auto"
    config = ModelConfig(arch=cfg.arch, encoder=cfg.encoder, encoder_weights=cfg.encoder_weights,
                         img_size=cfg.img_size, augment=cfg.augment, loss=cfg.loss,
                         extra={"train": asdict(cfg)})
    report, keep = Report(on_progress, stop), KeepBest(config)
    module = SegModule(network, cfg.loss, cfg.lr, cfg.epochs, schedule=not cfg.two_stage,
                       channels_last=cfg.img_size >= 128)
    trainer = _trainer(project, cfg, [report, keep, *_schedule(cfg)])
    if not trainer.is_global_zero:  # a share of rank zero's run: it reports and registers
        report.on_progress = None
        _run_fit(trainer, module, ProjectDataModule(None, cfg))
        return TrainResult(keep.folder.name, FOLLOWER, {}, trainer.global_rank)
    held_out = hold_out_validation(project, cfg)  # once, before any other rank reads data
    seen_upto = annotation_mark(project)  # saves after this are new to the model
    data = ProjectDataModule(project, cfg)
    version = new_version(project, parent, cfg.iteration, [s.image_id for s in data.samples],
                          asdict(config))
    keep.folder, keep.has_val = project.root / MODELS_DIR / version, bool(data.val_samples)
    t0 = time.perf_counter()
    _fit(project, version, cfg, trainer, module, data, keep)
    status = "stopped" if report.stopped else "ready"
    metrics = _metrics(trainer, data, keep, report, time.perf_counter() - t0)
    metrics["encoder_weights"], metrics["weights_note"] = weights, weights_note
    metrics["held_out_for_val"], metrics[SEEN_UPTO] = held_out, seen_upto
    finish_version(project, version, status, metrics)
    if on_progress is not None:
        last_epoch = max(0, min(trainer.current_epoch, cfg.epochs) - 1)
        on_progress(TrainProgress(last_epoch, cfg.epochs, trainer.global_step,
                                  trainer.global_step, None, report.val_dice, "done"))
    return TrainResult(version, status, metrics)


def _schedule(cfg: TrainConfig) -> list:
    """The callbacks that end or change training: two stages, early stopping. The same
    on every rank (early stopping's decision is reduced across them); without validation
    images early stopping never runs, as there is no validation."""
    out = []
    if cfg.two_stage:
        out.append(TwoStage(cfg.stage1_epochs, cfg.lr))
    if cfg.patience > 0:
        from lightning.pytorch.callbacks import EarlyStopping

        # checked after validation only, and not strict: a run stopped (or capped by
        # max_steps) before its first validation has no val_dice yet
        out.append(EarlyStopping("val_dice", mode="max", patience=cfg.patience,
                                 strict=False, check_on_train_epoch_end=False))
    return out


def _trainer(project: Project, cfg: TrainConfig, callbacks: list) -> L.Trainer:
    """The Trainer, built before the store is written to: it says which rank this process
    is. Loggers are added on rank zero once the version exists (``_fit``); validation is
    turned off in ``ProjectDataModule.setup`` when there is none."""
    gpu = torch.cuda.is_available()
    precision = cfg.precision if cfg.precision != "auto" else ("16-mixed" if gpu else "32-true")
    return L.Trainer(
        accelerator="auto", devices=parse_devices(cfg.devices), strategy=cfg.strategy,
        num_nodes=cfg.num_nodes, precision=precision, max_epochs=cfg.epochs,
        max_steps=cfg.max_steps, callbacks=callbacks, logger=False,
        enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, log_every_n_steps=1, num_sanity_val_steps=0,
        default_root_dir=str(project.root / MODELS_DIR))


def _run_fit(trainer: L.Trainer, module: SegModule, data: ProjectDataModule) -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=".*number of training batches.*")
        trainer.fit(module, datamodule=data)


def _fit(project: Project, version: str, cfg: TrainConfig, trainer: L.Trainer,
         module: SegModule, data: ProjectDataModule, keep: KeepBest) -> None:
    """``Trainer.fit`` on rank zero; any failure (a missing logger package, a full disk,
    out of memory) marks the version failed before it is raised."""
    try:
        trainer.loggers = _loggers(cfg, keep.folder)
        _run_fit(trainer, module, data)
        if not keep.saved:  # stopped before the first epoch ended: keep what we have
            keep.save(module, trainer.current_epoch)
    except BaseException as exc:
        with contextlib.suppress(OSError, sqlite3.Error):  # a full disk must not hide
            # the first error (the store is updated before metrics.json is written)
            finish_version(project, version, "failed",
                           {"error": f"{type(exc).__name__}: {exc}"})
        if isinstance(exc, torch.OutOfMemoryError):
            raise SpecimaskError(
                f"out of memory while training at {cfg.img_size} px, batch {cfg.batch_size}; "
                "lower --batch-size or --img-size") from exc
        raise


def _metrics(trainer: L.Trainer, data: ProjectDataModule, keep: KeepBest, report: Report,
             seconds: float) -> dict:
    """What metrics.json and the registry keep of a run."""
    return {
        "best_val_dice": keep.best if data.val_samples and keep.best > -math.inf else None,
        "best_epoch": keep.best_epoch, "epochs_run": trainer.current_epoch,
        "steps": trainer.global_step, "seconds": round(seconds, 2),
        "n_train": len(data.samples), "n_val": len(data.val_samples),
        "n_train_by_kind": {k: sum(s.kind == k for s in data.samples)
                            for k in ("target", "source", COLD_START)},
        "final_train_loss": _float(trainer.callback_metrics.get("train_loss_epoch")),
        "stopped": report.stopped,
    }


def _loggers(cfg: TrainConfig, folder) -> list:
    from lightning.pytorch.loggers import CSVLogger

    out = [CSVLogger(save_dir=str(folder), name="", version="")]
    if "tensorboard" in cfg.loggers:
        try:
            import tensorboard  # noqa: F401
        except ImportError:
            raise SpecimaskError("TensorBoard logging asked for but tensorboard is not "
                                 "installed: pip install tensorboard") from None
        from lightning.pytorch.loggers import TensorBoardLogger

        out.append(TensorBoardLogger(save_dir=str(folder), name="tensorboard", version=""))
    if "wandb" in cfg.loggers:
        try:
            import wandb  # noqa: F401
        except ImportError:
            raise SpecimaskError("Weights & Biases logging asked for but wandb is not "
                                 "installed: pip install wandb") from None
        from lightning.pytorch.loggers import WandbLogger

        out.append(WandbLogger(project="specimask", save_dir=str(folder),
                               name=folder.name))
    return out


def start_from(project: Project, network: torch.nn.Module,
               cfg: TrainConfig) -> tuple[str, str]:
    """Fine-tuning: copy a trained version's weights into ``network`` (same architecture).
    Returns the version and the encoder weights that version itself started from.

    The herbarium workflow fine-tunes the model on corrected masks rather than training
    again from ImageNet weights; ``init_from="active"`` starts from the active model.
    """
    version = active_version(project) if cfg.init_from == "active" else cfg.init_from
    if version is None:
        raise SpecimaskError(f"{project.root}: --init-from active, but no model is active "
                             "yet; train one first or leave --init-from out")
    trained, config, _ = load_model(project, version)
    if (config.arch, config.encoder) != (cfg.arch, cfg.encoder):
        raise SpecimaskError(
            f"--init-from {version}: that model is {config.arch}/{config.encoder}, this run "
            f"is {cfg.arch}/{cfg.encoder}; pass --arch {config.arch} --encoder "
            f"{config.encoder} to fine-tune it")
    network.load_state_dict(trained.state_dict())
    return version, config.encoder_weights


def train_job(project: Project, cfg: TrainConfig, stop: threading.Event | None = None,
              parent: str | None = None, distributed: bool = False) -> Job[TrainResult]:
    """``train`` as a generator of TrainProgress (for the GUI's thread_worker); closing
    the generator stops the training at its next step."""
    stop = stop or threading.Event()
    return threaded(lambda report: train(project, cfg, report, stop, parent, distributed),
                    stop)


def in_process(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` on one device. Lightning starts a distributed run's other local ranks by
    running the command line again, which for napari, a round or continuous training
    would open a second GUI or run the whole loop again on each rank; so ``devices =
    auto`` means one device here, and asking for several is an error that says where
    they can be used."""
    devices = parse_devices(cfg.devices)
    if devices == "auto" and cfg.strategy == "auto" and cfg.num_nodes == 1:
        return replace(cfg, devices="1")
    several = cfg.num_nodes > 1 or (len(devices) > 1 if isinstance(devices, list)
                                    else devices == "auto" or devices > 1)
    if several or cfg.strategy not in ("auto", "single_device"):
        raise SpecimaskError(
            f"devices {cfg.devices}, strategy {cfg.strategy}, num_nodes {cfg.num_nodes}: "
            "training on several devices or nodes runs from `specimask train` (each of "
            "its processes runs that command); here training runs in this process on one "
            "device: set [training] devices = 1 (or auto) and strategy = auto")
    return cfg


def _float(value) -> float | None:
    return None if value is None else float(value)


def summary_line(result: TrainResult) -> str:
    m = result.metrics
    dice = f"{m['best_val_dice']:.4f}" if m.get("best_val_dice") is not None else "n/a"
    return (f"model {result.version} ({result.status}): best val Dice {dice} at epoch "
            f"{m['best_epoch']}, {m['steps']} steps in {m['seconds']} s "
            f"on {m['n_train']} training / {m['n_val']} val images")

