"""Training on Lightning: the network side of the loop, shared by the CLI and the GUI.

``train()`` builds the data from the project store, runs ``Trainer.fit`` and registers a
new model version. It reports ``TrainProgress`` through a callback and stops at the next
step once ``stop`` is set; the best weights so far (by val Dice, else the latest) are
always on disk, written atomically, so a stop or a crash leaves a usable model.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, WeightedRandomSampler

from ..errors import SpecimaskError
from ..io.images import read_image, to_rgb8
from ..masks.letterbox import Letterbox
from ..model.factory import ARCHS, create_model
from ..model.losses import LOSSES, build_loss, dice_iou_per_image
from ..model.weights import ModelConfig, active_version, finish_version, load_model, new_version
from ..progress import Job, threaded
from ..settings import ModelSettings, Settings, TrainSettings
from ..store.project import MODELS_DIR, Project
from ..vocabulary import LOGGERS
from .augment import PRESETS, Augmentation
from .callbacks import KeepBest, Report, TrainProgress, TwoStage
from .samples import SegmentationDataset, training_samples, validation_samples


@dataclass
class TrainConfig(TrainSettings):
    """One training run: the ``[train]`` and ``[model]`` settings plus run-only caps.

    Extends TrainSettings so the defaults live in one place (settings.py).
    """

    arch: str = ModelSettings.arch
    encoder: str = ModelSettings.encoder
    encoder_weights: str = ModelSettings.encoder_weights
    img_size: int = ModelSettings.img_size
    max_steps: int = -1          # a cap on optimizer steps (tests, quick checks)
    iteration: int | None = None
    init_from: str = ""          # fine-tune: start from this version's weights ("active")

    @classmethod
    def from_settings(cls, settings: Settings, iteration: int | None = None,
                      **overrides) -> TrainConfig:
        """Defaults from specimask.toml, then the per-iteration schedule, then overrides."""
        cfg = cls(**asdict(settings.train), **asdict(settings.model))
        cfg = replace(cfg, **{k: overrides[k] for k in ("epochs_per_iteration",
                                                         "px_per_iteration")
                              if overrides.get(k) is not None}).scheduled(iteration)
        return replace(cfg, **{k: v for k, v in overrides.items() if v is not None})

    def scheduled(self, iteration: int | None) -> TrainConfig:
        """This config with the schedule of ``iteration`` added (+epochs, +px per round)."""
        n = iteration or 0
        return replace(self, iteration=iteration,
                       epochs=self.epochs + self.epochs_per_iteration * n,
                       img_size=self.img_size + self.px_per_iteration * n)

    def check(self) -> TrainConfig:
        """Values that would otherwise fail only inside training, checked before a run
        starts or before they are stored as defaults."""
        from .samples import TRAIN_ROLES

        for name, value, allowed in (("arch", self.arch, tuple(ARCHS)),
                                     ("loss", self.loss, LOSSES),
                                     ("augment", self.augment, PRESETS)):
            if value not in allowed:
                raise SpecimaskError(f"{name} {value!r} is unknown; choose from "
                                     f"{', '.join(allowed)}")
        for name, values, allowed in (("logger", self.loggers, LOGGERS),
                                      ("pseudo role", self.pseudo_roles, TRAIN_ROLES)):
            unknown = [v for v in values if v not in allowed]
            if unknown:
                raise SpecimaskError(f"unknown {name}(s) {', '.join(unknown)}; choose from "
                                     f"{', '.join(allowed)}")
        return self


@dataclass
class TrainResult:
    version: str
    status: str  # "ready" or "stopped"
    metrics: dict


class SegModule(L.LightningModule):
    """The network, its loss and optimiser; val Dice/IoU per image at threshold 0.5."""

    def __init__(self, model: torch.nn.Module, loss: str, lr: float, epochs: int,
                 schedule: bool = True, channels_last: bool = True):
        super().__init__()
        # channels-last is 1.2-1.5x faster from 128 px up on CPU, slower on tiny inputs
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.model = model.to(memory_format=self.memory_format)
        self.loss_fn = build_loss(loss)
        self.lr, self.epochs, self.schedule = lr, epochs, schedule
        self._val: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.contiguous(memory_format=self.memory_format))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = self.loss_fn(self(x), y)
        self.log("train_loss", loss, on_step=True, on_epoch=True, batch_size=len(x))
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        dice, iou = dice_iou_per_image(logits, y)
        self.log("val_loss", self.loss_fn(logits, y), on_epoch=True, batch_size=len(x),
                 sync_dist=True)
        self._val.append(torch.stack([dice, iou], 1))

    def on_validation_epoch_end(self):
        if self._val:
            d = torch.cat(self._val).mean(0)
            self.log("val_dice", d[0], sync_dist=True)
            self.log("val_iou", d[1], sync_dist=True)
        self._val.clear()

    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=1e-4)
        if not self.schedule:
            return opt
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, self.epochs))
        return {"optimizer": opt, "lr_scheduler": sched}


class ProjectDataModule(L.LightningDataModule):
    """Training/validation loaders built from the project store (plain, picklable data)."""

    def __init__(self, project: Project, cfg: TrainConfig):
        super().__init__()
        self.samples = training_samples(project, cfg.hand_weight, cfg.use_pseudo,
                                        tuple(cfg.pseudo_roles))
        self.val_samples = validation_samples(project)
        if len(self.samples) < 2:
            raise SpecimaskError(
                f"{project.root}: {len(self.samples)} training image(s) with a verified mask; "
                "at least 2 are needed (verify masks, or add --use-pseudo to train on "
                "cold-start proposals)")
        if cfg.require_val and not self.val_samples:
            raise SpecimaskError(
                f"{project.root}: no validation images (role val with a mask); import some "
                "with `specimask import PROJECT DIR --masks MASKS --role val`, or pass --no-val")
        refs = reference_images(project, cfg.img_size, cfg.seed) \
            if cfg.augment == "specialized" else []
        limit = project.settings.images.max_pixels
        self.train_ds = SegmentationDataset(self.samples, cfg.img_size,
                                            Augmentation(cfg.augment, refs, cfg.seed), limit)
        self.val_ds = SegmentationDataset(self.val_samples, cfg.img_size, None, limit)
        self.batch_size = min(cfg.batch_size, len(self.samples))
        self.num_workers, self.seed = cfg.num_workers, cfg.seed
        self.samples_per_epoch = cfg.samples_per_epoch or len(self.samples)

    def train_dataloader(self):
        weights = torch.tensor([s.weight for s in self.samples], dtype=torch.double)
        gen = torch.Generator().manual_seed(self.seed)
        sampler = WeightedRandomSampler(weights, self.samples_per_epoch, replacement=True,
                                        generator=gen)
        return DataLoader(self.train_ds, self.batch_size, sampler=sampler, drop_last=True,
                          num_workers=self.num_workers,
                          persistent_workers=self.num_workers > 0)

    def val_dataloader(self):
        return DataLoader(self.val_ds, self.batch_size, shuffle=False,
                          num_workers=self.num_workers)


def reference_images(project: Project, img_size: int, seed: int, n: int = 32) -> list:
    """Letterboxed unlabelled pool images: FDA / histogram-matching targets."""
    pool = [r for r in project.images(role="pool") if r.status != "labeled"]
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(pool), size=min(n, len(pool)), replace=False) if pool else []
    out = []
    for i in picks:
        img = to_rgb8(read_image(project.image_path(pool[i]), project.settings.images.max_pixels))
        out.append(Letterbox.fit(*img.shape[:2], img_size).apply(img))
    return out


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


def _devices(value: str):
    value = str(value)
    if value == "auto":
        return "auto"
    if "," in value:
        return [int(v) for v in value.split(",") if v.strip()]
    return int(value)


def quiet_lightning() -> None:
    """Lightning's info chatter (GPU available, tips) is noise in a CLI or a GUI log."""
    import logging

    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")


def train(project: Project, cfg: TrainConfig,
          on_progress: Callable[[TrainProgress], None] | None = None,
          stop: threading.Event | None = None, parent: str | None = None) -> TrainResult:
    """Train a new model version on the project's verified masks and register it."""
    cfg.check()
    quiet_lightning()
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    data = ProjectDataModule(project, cfg)
    has_val = bool(data.val_samples)
    network = create_model(cfg.arch, cfg.encoder, cfg.encoder_weights,
                           freeze_encoder=cfg.freeze_encoder or cfg.two_stage)
    if cfg.init_from:  # record the version actually used, not "active"
        cfg = replace(cfg, init_from=start_from(project, network, cfg))
    config = ModelConfig(arch=cfg.arch, encoder=cfg.encoder, encoder_weights=cfg.encoder_weights,
                         img_size=cfg.img_size, augment=cfg.augment, loss=cfg.loss,
                         extra={"train": asdict(cfg)})
    version = new_version(project, parent, cfg.iteration, [s.image_id for s in data.samples],
                          config)
    folder = project.root / MODELS_DIR / version
    report, keep = Report(on_progress, stop), KeepBest(folder, config, has_val)
    callbacks = [report, keep]
    if cfg.two_stage:
        callbacks.append(TwoStage(cfg.stage1_epochs, cfg.lr))
    if has_val and cfg.patience > 0:
        from lightning.pytorch.callbacks import EarlyStopping

        # checked after validation only, and not strict: a run stopped (or capped by
        # max_steps) before its first validation has no val_dice yet
        callbacks.append(EarlyStopping("val_dice", mode="max", patience=cfg.patience,
                                       strict=False, check_on_train_epoch_end=False))
    gpu = torch.cuda.is_available()
    precision = cfg.precision if cfg.precision != "auto" else ("16-mixed" if gpu else "32-true")
    module = SegModule(network, cfg.loss, cfg.lr, cfg.epochs, schedule=not cfg.two_stage,
                       channels_last=cfg.img_size >= 128)
    t0 = time.perf_counter()
    try:
        trainer = L.Trainer(
            accelerator="auto", devices=_devices(cfg.devices), strategy=cfg.strategy,
            num_nodes=cfg.num_nodes, precision=precision, max_epochs=cfg.epochs,
            max_steps=cfg.max_steps, callbacks=callbacks, logger=_loggers(cfg, folder),
            enable_checkpointing=False, enable_progress_bar=False,
            enable_model_summary=False, log_every_n_steps=1, num_sanity_val_steps=0,
            limit_val_batches=1.0 if has_val else 0, default_root_dir=str(folder))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*does not have many workers.*")
            warnings.filterwarnings("ignore", message=".*number of training batches.*")
            trainer.fit(module, datamodule=data)
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
    status = "stopped" if report.stopped else "ready"
    metrics = {
        "best_val_dice": keep.best if has_val and keep.best > -math.inf else None,
        "best_epoch": keep.best_epoch, "epochs_run": trainer.current_epoch,
        "steps": trainer.global_step, "seconds": round(time.perf_counter() - t0, 2),
        "n_train": len(data.samples), "n_val": len(data.val_samples),
        "n_train_by_kind": {k: sum(s.kind == k for s in data.samples)
                            for k in ("target", "source", "pseudo")},
        "final_train_loss": _float(trainer.callback_metrics.get("train_loss_epoch")),
        "stopped": report.stopped,
    }
    finish_version(project, version, status, metrics)
    if on_progress is not None:
        last_epoch = max(0, min(trainer.current_epoch, cfg.epochs) - 1)
        on_progress(TrainProgress(last_epoch, cfg.epochs, trainer.global_step,
                                  trainer.global_step, None, report.val_dice, "done"))
    return TrainResult(version, status, metrics)


def start_from(project: Project, network: torch.nn.Module, cfg: TrainConfig) -> str:
    """Fine-tuning: copy a trained version's weights into ``network`` (same architecture).

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
    return version


def train_job(project: Project, cfg: TrainConfig, stop: threading.Event | None = None,
              parent: str | None = None) -> Job[TrainResult]:
    """``train`` as a generator of TrainProgress (for the GUI's thread_worker)."""
    return threaded(lambda report: train(project, cfg, report, stop, parent))


def _float(value) -> float | None:
    return None if value is None else float(value)


def summary_line(result: TrainResult) -> str:
    m = result.metrics
    dice = f"{m['best_val_dice']:.4f}" if m.get("best_val_dice") is not None else "n/a"
    return (f"model {result.version} ({result.status}): best val Dice {dice} at epoch "
            f"{m['best_epoch']}, {m['steps']} steps in {m['seconds']} s "
            f"on {m['n_train']} training / {m['n_val']} val images")

