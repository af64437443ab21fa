"""One active-learning round as a single job: train, keep the better model, score, select.

This is the plankton workflow's loop body (transfer from a clean source set to a noisy
target): training reads source images and verified target images through the weighted
sampler (``hand_weight``), the ``specialized`` preset pulls source images towards the
target pool with FDA and histogram matching, and the per-iteration schedule
(``epochs_per_iteration``, ``px_per_iteration``) grows the run each round. The CLI's
``specimask round`` and the Active learning widget's "Train + select" both run this.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..active.queue import Selection, select_next
from ..active.scoring import ModelScorer, ScoreSpec
from ..errors import SpecimaskError
from ..progress import Job, Progress, stopped
from ..store.project import Project
from ..store.registry import active_version, check_activation_rule
from ..training.config import TrainConfig
from ..training.fit import TrainResult
from ..vocabulary import Role, Status
from .gate import Verdict, train_and_gate


@dataclass(frozen=True)
class SelectionPlan:
    """How the round picks its batch (defaults: ``[selection]`` in specimask.toml)."""

    strategy: str = "stochastic"
    batch_size: int = 20
    n_batches: int | None = 50    # None: disjoint batches
    seed: int = 0
    aggregation: str = "mean"
    spec: ScoreSpec = ScoreSpec()

    @classmethod
    def from_settings(cls, project: Project, **overrides) -> SelectionPlan:
        s = project.settings.selection
        plan = cls(s.strategy, s.batch_size, s.n_batches or None, s.seed, s.aggregation,
                   ScoreSpec(s.measure, s.tta, tuple(s.photometric), precision=s.precision))
        merged = {**plan.__dict__, **{k: v for k, v in overrides.items() if v is not None}}
        merged["n_batches"] = merged["n_batches"] or None  # 0 means disjoint batches
        return cls(**merged)


@dataclass
class RoundResult:
    trained: TrainResult
    verdict: Verdict | None      # None when training did not finish
    activated: bool
    selection: Selection | None  # None when the round was stopped before selecting


def round_config(project: Project, **overrides) -> TrainConfig:
    """Training settings for the project's next round: specimask.toml, then the
    per-iteration schedule for the current iteration, then ``overrides``."""
    return TrainConfig.from_settings(project.settings, iteration=project.summary()["iteration"],
                                     **overrides)


def run_round(project: Project, cfg: TrainConfig, plan: SelectionPlan,
              activate_when: str = "better",
              stop: threading.Event | None = None) -> Job[RoundResult]:
    """Train a new version; activate it by ``activate_when`` (``gate``: better means
    better than the current proposals on held-out masks); select the next batch with the
    active model. Stopping during training keeps the model and selects nothing."""
    check_activation_rule(activate_when)  # before hours of training, not after
    if not project.image_ids(role=Role.POOL, status=Status.UNLABELED):
        raise SpecimaskError(f"{project.root}: no unlabelled pool images left; a round would "
                             "train but have nothing to select (use `specimask train`)")
    gated = yield from train_and_gate(project, cfg, activate_when, stop)
    trained, activated = gated.trained, gated.activated
    if stopped(stop) or trained.status != "ready":
        return RoundResult(trained, gated.verdict, activated, None)
    version = active_version(project)
    yield Progress(0, 1, f"selecting with {version}")
    scorer = ModelScorer(project, version, plan.spec) if version else None
    selection = yield from select_next(
        project, plan.strategy, plan.batch_size, n_batches=plan.n_batches, seed=plan.seed,
        aggregation=plan.aggregation, scorer=scorer, stop=stop, fallback=True)
    return RoundResult(trained, gated.verdict, activated, selection)
