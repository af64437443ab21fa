"""The Lightning pieces of training: the network with its loss and optimiser
(``SegModule``) and the loaders built from the project store (``ProjectDataModule``);
``fit.train`` and ``lr_find`` both run them."""

from __future__ import annotations

import warnings

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, WeightedRandomSampler

from ..errors import SpecimaskError
from ..io.images import read_image, to_rgb8
from ..masks.letterbox import Letterbox
from ..model.losses import build_loss, dice_iou_per_image
from ..settings import how_to_set
from ..store.project import Project
from .augment import Augmentation
from .config import TrainConfig
from .samples import SegmentationDataset, training_samples, validation_samples


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
                "at least 2 are needed: save or import masks, or train on the cold-start "
                f"proposals too ({how_to_set('use_pseudo')})")
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


def quiet_lightning() -> None:
    """Lightning's info chatter (GPU available, tips) is noise in a CLI or a GUI log."""
    import logging

    for name in ("lightning.pytorch", "lightning.fabric", "lightning"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).*")
