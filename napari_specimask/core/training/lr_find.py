"""Learning-rate range test (Lightning's Tuner.lr_find) with its plot saved."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import lightning as L
import torch

from ..errors import SpecimaskError
from ..model.factory import create_model
from ..store.project import Project
from .config import TrainConfig
from .module import ProjectDataModule, SegModule, quiet_lightning


@dataclass
class LrFindResult:
    suggestion: float | None
    plot: Path
    lrs: list[float]
    losses: list[float]


def find_lr(project: Project, cfg: TrainConfig, plot: str | Path, min_lr: float = 1e-6,
            max_lr: float = 1.0, num_training: int = 100) -> LrFindResult:
    import matplotlib

    matplotlib.use("Agg")  # no display needed; the plot goes to a file
    quiet_lightning()
    L.seed_everything(cfg.seed, verbose=False)
    data = ProjectDataModule(project, cfg)
    module = SegModule(create_model(cfg.arch, cfg.encoder, cfg.encoder_weights,
                                    cfg.freeze_encoder), cfg.loss, cfg.lr, cfg.epochs,
                       schedule=False)
    trainer = L.Trainer(accelerator="auto", devices=1, max_epochs=max(1, cfg.epochs),
                        logger=False, enable_checkpointing=False, enable_progress_bar=False,
                        enable_model_summary=False, limit_val_batches=0,
                        default_root_dir=str(Path(plot).parent),
                        precision="16-mixed" if torch.cuda.is_available() else "32-true")
    from lightning.pytorch.tuner import Tuner

    result = Tuner(trainer).lr_find(module, datamodule=data, min_lr=min_lr, max_lr=max_lr,
                                    num_training=num_training, update_attr=False)
    if result is None:
        raise SpecimaskError("the learning-rate finder returned no result")
    plot = Path(plot)
    plot.parent.mkdir(parents=True, exist_ok=True)
    fig = result.plot(suggest=True)
    fig.savefig(plot, dpi=100)
    return LrFindResult(result.suggestion(), plot, list(map(float, result.results["lr"])),
                        list(map(float, result.results["loss"])))
