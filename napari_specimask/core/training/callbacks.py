"""Lightning callbacks of a training run: progress and stop, best weights, two stages."""

from __future__ import annotations

import math
from dataclasses import dataclass

import lightning as L

from ..model.factory import set_encoder_frozen
from ..model.weights import ModelConfig, save_weights


@dataclass(frozen=True)
class TrainProgress:
    """One report from a running training (what the GUI's progress bar and plot show)."""

    epoch: int
    epochs: int
    step: int
    total_steps: int
    train_loss: float | None = None
    val_dice: float | None = None
    stage: str = "train"  # "train", "validate" or "done"

    @property
    def done(self) -> int:
        return self.step

    @property
    def total(self) -> int:
        return self.total_steps

    @property
    def message(self) -> str:
        parts = [f"epoch {self.epoch + 1}/{self.epochs}"]
        if self.train_loss is not None:
            parts.append(f"loss {self.train_loss:.3f}")
        if self.val_dice is not None:
            parts.append(f"val Dice {self.val_dice:.3f}")
        return ", ".join(parts)


class Report(L.Callback):
    """Progress to the caller after every step; honours the stop event at the next step."""

    def __init__(self, on_progress, stop):
        self.on_progress, self.stop = on_progress, stop
        self.val_dice: float | None = None
        self.stopped = False

    def _emit(self, trainer, loss=None, stage="train"):
        if self.on_progress is not None:
            self.on_progress(TrainProgress(
                trainer.current_epoch, trainer.max_epochs or 0, trainer.global_step,
                int(trainer.estimated_stepping_batches), loss, self.val_dice, stage))

    def _check_stop(self, trainer):
        asked = self.stop is not None and self.stop.is_set()
        if trainer.world_size > 1:  # every rank stops at the same step, even when a Ctrl-C
            # or a SIGTERM reached only one of them
            asked = trainer.strategy.reduce_boolean_decision(asked, all=False)
        if asked:
            self.stopped = True
            trainer.should_stop = True
            trainer.limit_val_batches = 0  # no validation pass on the way out

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self._check_stop(trainer)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        self._emit(trainer, float(outputs["loss"]))
        self._check_stop(trainer)

    # on_validation_end, not _epoch_end: callbacks' epoch-end hooks run before the module
    # logs val_dice, so only here is the fresh value in callback_metrics.
    def on_validation_end(self, trainer, module):
        if not trainer.sanity_checking and "val_dice" in trainer.callback_metrics:
            self.val_dice = float(trainer.callback_metrics["val_dice"])
            self._emit(trainer, stage="validate")


class KeepBest(L.Callback):
    """Write the best weights so far (val Dice; latest when there is no validation).

    In a distributed run only rank zero knows the version's ``folder`` and whether there
    is validation (it read the store); ``setup`` broadcasts both, so every rank knows where
    the weights go, and only rank zero writes them.
    """

    def __init__(self, config: ModelConfig, folder=None, has_val: bool = False):
        self.folder, self.config, self.has_val = folder, config, has_val
        self.best = -math.inf
        self.best_epoch = None
        self.saved = False

    def setup(self, trainer, module, stage):
        self.folder, self.has_val = trainer.strategy.broadcast((self.folder, self.has_val))

    def save(self, module, epoch, write: bool = True):
        if write:
            save_weights(self.folder, module.model.state_dict(), self.config)
        self.best_epoch, self.saved = epoch, True

    def on_validation_end(self, trainer, module):
        dice = trainer.callback_metrics.get("val_dice")
        if trainer.sanity_checking or dice is None or not self.has_val:
            return
        if float(dice) > self.best:
            self.best = float(dice)
            self.save(module, trainer.current_epoch, trainer.is_global_zero)

    def on_train_epoch_end(self, trainer, module):
        if not self.has_val:
            self.save(module, trainer.current_epoch, trainer.is_global_zero)


class TwoStage(L.Callback):
    """Stage 1: encoder frozen at lr; stage 2: all layers at lr / 10."""

    def __init__(self, stage1_epochs: int, lr: float):
        self.stage1_epochs, self.lr = stage1_epochs, lr

    def on_train_epoch_start(self, trainer, module):
        frozen = trainer.current_epoch < self.stage1_epochs
        set_encoder_frozen(module.model, frozen)
        for group in trainer.optimizers[0].param_groups:
            group["lr"] = self.lr if frozen else self.lr / 10
