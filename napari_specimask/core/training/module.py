"""The Lightning pieces of training: the network with its loss and optimiser
(``SegModule``) and the loaders built from the project store (``ProjectDataModule``);
``fit.train`` and ``lr_find`` both run them."""

from __future__ import annotations

import warnings

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler

from ..errors import SpecimaskError
from ..io.images import read_image, to_rgb8
from ..masks.letterbox import Letterbox
from ..model.losses import build_loss, dice_iou_per_image
from ..settings import how_to_set
from ..store.project import Project
from ..vocabulary import Role, Status
from .augment import Augmentation
from .config import TrainConfig
from .samples import SegmentationDataset, training_samples, validation_samples


class SegModule(L.LightningModule):
    """The network, its loss and optimiser; val Dice/IoU per image at threshold 0.5.

    Val Dice and IoU are means over the validation images, each counted once: in a
    distributed run every rank gathers all ranks' per-image values and drops the images
    the distributed sampler repeated to even out the ranks, so each rank logs the value a
    one-process run would.
    """

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
        self.log("train_loss", loss, on_step=True, on_epoch=True, batch_size=len(x),
                 sync_dist=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y, index = batch
        logits = self(x)
        dice, iou = dice_iou_per_image(logits, y)
        self.log("val_loss", self.loss_fn(logits, y), on_epoch=True, batch_size=len(x),
                 sync_dist=True)
        self._val.append(torch.stack([index.float(), dice.float(), iou.float()], 1))

    def on_validation_epoch_end(self):
        if self._val:
            d = once_per_image(self.all_gather(torch.cat(self._val))).mean(0)
            # the same value on every rank already; max keeps it exact (a mean may round)
            self.log("val_dice", d[0], sync_dist=True, reduce_fx="max")
            self.log("val_iou", d[1], sync_dist=True, reduce_fx="max")
        self._val.clear()

    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.parameters(), lr=self.lr, weight_decay=1e-4)
        if not self.schedule:
            return opt
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, self.epochs))
        return {"optimizer": opt, "lr_scheduler": sched}


def once_per_image(rows: torch.Tensor) -> torch.Tensor:
    """(index, dice, iou) rows, from one rank (N, 3) or gathered from all (ranks, N, 3),
    as (dice, iou) with each image once, in index order."""
    rows = rows.reshape(-1, 3)
    rows = rows[torch.argsort(rows[:, 0], stable=True)]
    first = torch.ones(len(rows), dtype=torch.bool, device=rows.device)
    first[1:] = rows[1:, 0] != rows[:-1, 0]
    return rows[first, 1:]


class Indexed(Dataset):
    """A dataset's items with their index appended (to count each val image once)."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        return (*self.dataset[index], index)


class ProjectDataModule(L.LightningDataModule):
    """Training/validation loaders built from the project store (plain, picklable data).

    In a distributed run rank zero reads the store (after it held out validation images)
    and ``setup`` broadcasts what it read, so every rank trains on the same samples
    whatever the store says when that rank starts; the other ranks pass ``project=None``
    and read nothing.
    """

    SHARED = ("samples", "val_samples", "train_ds", "val_ds", "batch_size",
              "samples_per_epoch")

    def __init__(self, project: Project | None, cfg: TrainConfig):
        super().__init__()
        self.num_workers, self.seed = cfg.num_workers, cfg.seed
        self.samples, self.val_samples, self.train_ds, self.val_ds = [], [], None, None
        self.batch_size, self.samples_per_epoch = cfg.batch_size, 0
        if project is not None:
            self._read(project, cfg)

    def _read(self, project: Project, cfg: TrainConfig) -> None:
        self.samples = training_samples(project, cfg.hand_weight, cfg.use_cold_start,
                                        tuple(cfg.cold_start_roles))
        self.val_samples = validation_samples(project)
        if len(self.samples) < 2:
            raise SpecimaskError(
                f"{project.root}: {len(self.samples)} training image(s) with a verified mask; "
                "at least 2 are needed: save or import masks, or train on the cold-start "
                f"proposals too ({how_to_set('use_cold_start')})")
        if cfg.require_val and not self.val_samples:
            raise SpecimaskError(
                f"{project.root}: no validation images (role val with a mask), and too "
                "few verified masks to hold some out: verify more images (or hold out "
                f"some: {how_to_set('val_fraction', 0.2)}), import some with `--role val`, "
                f"or train without ({how_to_set('require_val', False)})")
        refs = reference_images(project, cfg.img_size, cfg.seed) \
            if cfg.augment == "specialized" else []
        limit = project.settings.images.max_pixels
        self.train_ds = SegmentationDataset(self.samples, cfg.img_size,
                                            Augmentation(cfg.augment, refs, cfg.seed), limit)
        self.val_ds = SegmentationDataset(self.val_samples, cfg.img_size, None, limit)
        self.batch_size = min(cfg.batch_size, len(self.samples))
        self.samples_per_epoch = cfg.samples_per_epoch or len(self.samples)

    def setup(self, stage: str) -> None:
        trainer = self.trainer
        if trainer is None:
            return
        if trainer.world_size > 1:
            shared = trainer.strategy.broadcast({k: getattr(self, k) for k in self.SHARED})
            for k, v in shared.items():
                setattr(self, k, v)
        if not self.val_samples:
            trainer.limit_val_batches = 0  # nothing to validate on

    def train_dataloader(self):
        weights = torch.tensor([s.weight for s in self.samples], dtype=torch.double)
        gen = torch.Generator().manual_seed(self.seed)
        sampler = WeightedRandomSampler(weights, self.samples_per_epoch, replacement=True,
                                        generator=gen)
        return DataLoader(self.train_ds, self.batch_size, sampler=sampler, drop_last=True,
                          num_workers=self.num_workers,
                          persistent_workers=self.num_workers > 0)

    def val_dataloader(self):
        return DataLoader(Indexed(self.val_ds), self.batch_size, shuffle=False,
                          num_workers=self.num_workers)


def reference_images(project: Project, img_size: int, seed: int, n: int = 32) -> list:
    """Letterboxed unlabelled pool images: FDA / histogram-matching targets."""
    pool = [r for r in project.images(role=Role.POOL) if r.status != Status.LABELED]
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(pool), size=min(n, len(pool)), replace=False) if pool else []
    out = []
    for i in picks:
        img = to_rgb8(read_image(project.image_path(pool[i]), project.settings.images.max_pixels))
        out.append(Letterbox.fit(*img.shape[:2], img_size).apply(img))
    return out


def quiet_lightning() -> None:
    """Lightning's info chatter (GPU available, tips) is noise in a CLI or a GUI log."""
    import logging

    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
    # Lightning's all_gather (val Dice in a distributed run) calls a deprecated torch API
    warnings.filterwarnings("ignore", message=r".*nn\.functional\.all_gather is deprecated.*")
