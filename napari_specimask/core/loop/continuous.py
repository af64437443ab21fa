"""Continuous training, RootPainter's way: the model learns from saves as they come.

While a person annotates, a short run (``[continuous] epochs``) starts after every
``[continuous] every`` newly saved masks. It fine-tunes the active model (before any
model beat cold start: the newest one trained on this project's settings, so short runs
add up instead of each starting from nothing), is judged by the gate like any run, and
when it becomes active the queued images nobody has open get its proposals at once:
the next image comes from the newest model. Runs record the newest annotation they were
built on (``SEEN_UPTO``), so counting new saves needs no state and agrees between the
napari window and ``specimask train --continuous`` on another machine.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace

from ..active.queue import refresh_unopened
from ..progress import Job, Progress, stopped
from ..store.iterations import SEEN_UPTO, saves_since
from ..store.project import Project
from ..store.registry import active_version, list_models
from ..training.config import TrainConfig
from ..training.holdout import hold_out_size
from ..training.samples import training_samples
from .gate import GatedResult, held_out, train_and_gate


def last_seen(project: Project) -> int:
    """The newest annotation the latest run (of any outcome) was built on; 0 before any.
    A failed run counts too, so a run that fails is not retried after every save."""
    runs = [m for m in list_models(project) if m["status"] != "training"]
    return max((m["metrics"].get(SEEN_UPTO, 0) for m in runs), default=0)


def new_saves(project: Project) -> int:
    """Masks saved since the latest run was built: what the next run would add."""
    return saves_since(project, last_seen(project))


def can_run(project: Project, base: TrainConfig | None = None) -> bool:
    """Whether a run now would have held-out masks to be judged on (images with role
    val, or enough verified ones for training to hold some out) and two to train on.
    Without, a run could never be activated or would refuse to start, so none is due.
    ``base``: the training options in use (the Train form's; default specimask.toml's)."""
    cfg = base or TrainConfig.from_settings(project.settings)  # hold-out and data options
    if not held_out(project):
        return hold_out_size(project, cfg) > 0  # which leaves two to train on
    return len(training_samples(project, cfg.hand_weight, cfg.use_cold_start,
                                tuple(cfg.cold_start_roles))) >= 2


def due(project: Project, base: TrainConfig | None = None) -> bool:
    """Whether enough new masks were saved for the next short run, and it can be judged."""
    return new_saves(project) >= max(1, project.settings.continuous.every) and \
        can_run(project, base)


def waiting_for(project: Project) -> str:
    """What the next run waits for, in words (the GUI's status line, the CLI's bar)."""
    left = max(1, project.settings.continuous.every) - new_saves(project)
    if left > 0:
        return f"next fine-tuning after {left} more save(s)"
    return ("next fine-tuning once a model can be trained and judged: verify a few more "
            "images (2 to train on, and without validation images a third, held out)")


def start_weights(project: Project, base: TrainConfig | None = None) -> str:
    """Where the next short run starts: the active model, else the newest finished run
    with this run's architecture and encoder, else nothing (``""``: from scratch)."""
    if active_version(project) is not None:
        return "active"
    model = base or project.settings.model
    same = [m for m in list_models(project) if m["status"] in ("ready", "stopped")
            and not m["removed"] and (m["arch"], m["encoder"]) == (model.arch, model.encoder)]
    return same[-1]["version"] if same else ""


def fine_tune_config(project: Project, base: TrainConfig | None = None) -> TrainConfig:
    """``base`` (the training options in use: the Train form's in napari, specimask.toml's
    elsewhere) by the schedule rule every run follows (``TrainConfig.from_settings``),
    shortened to ``[continuous] epochs`` (short runs do not grow with the iteration) and
    started from ``start_weights``; no early stopping in a run this short."""
    base = base or TrainConfig.from_settings(project.settings)
    cfg = base.scheduled(project.summary()["iteration"])
    return replace(cfg, epochs=project.settings.continuous.epochs, patience=0,
                   init_from=start_weights(project, base))


@dataclass
class ContinuousRound:
    gated: GatedResult
    refreshed: list[int]      # queued images that got the new model's proposals

    @property
    def summary(self) -> str:
        more = f"; new proposals for {len(self.refreshed)} queued image(s)" \
            if self.refreshed else ""
        return self.gated.summary + more


def fine_tune_round(project: Project, stop: threading.Event | None = None,
                    base: TrainConfig | None = None) -> Job[ContinuousRound]:
    """One short run from ``fine_tune_config``, gated (activated only when better than
    the current proposals); when activated, the unopened queue gets its proposals."""
    cfg = fine_tune_config(project, base)
    gated = yield from train_and_gate(project, cfg, "better", stop)
    if not gated.activated or stopped(stop):
        return ContinuousRound(gated, [])
    refreshed = yield from refresh_unopened(project, gated.trained.version)
    return ContinuousRound(gated, sorted(refreshed))


def watch(project: Project, stop: threading.Event, poll: float = 2.0,
          on_round=None) -> Job[list[ContinuousRound]]:
    """Run ``fine_tune_round`` whenever one is ``due``, until ``stop``: the headless side
    of continuous training, next to people annotating in napari on the same project."""
    rounds: list[ContinuousRound] = []
    while not stopped(stop):
        if due(project):
            result = yield from fine_tune_round(project, stop)
            rounds.append(result)
            if on_round is not None:
                on_round(result)
            continue
        every = max(1, project.settings.continuous.every)
        yield Progress(min(new_saves(project), every), every, waiting_for(project))
        stop.wait(poll)
    return rounds
