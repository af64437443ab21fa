"""The selection queue: run a strategy on the unlabelled pool, record the choice as an
iteration, queue its images and write the proposal each will be shown with.

Strategies (``core.active.strategies``) only choose; everything that touches the
project happens here, so adding a strategy never means editing this module.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np

from ..coldstart.proposals import store_cold_start_proposals
from ..errors import SpecimaskError
from ..faults import crash_point
from ..progress import Job, Progress
from ..store.iterations import (
    record_iteration_and_queue,
    set_latest_proposals,
)
from ..store.leases import leased_by_others
from ..store.project import Project
from ..store.registry import active_version, list_models
from ..vocabulary import Role, Status
from .scoring import ModelScorer, ScoreSpec
from .strategies import Candidates, Choice, Strategy, get_strategy


@dataclass
class Selection:
    iteration: int
    strategy: str
    model_version: str | None
    chosen: list[tuple[int, float | None]]  # (image id, its score)
    batch_score: float | None
    n_candidates: int
    n_scored: int
    n_batches: int
    proposals: dict[int, str | None] = field(default_factory=dict)
    note: str | None = None  # e.g. why another strategy was used

    def to_json(self, project: Project) -> dict:
        return {
            "iteration": self.iteration, "strategy": self.strategy,
            "model_version": self.model_version, "batch_score": self.batch_score,
            "n_candidates": self.n_candidates, "n_scored": self.n_scored,
            "n_batches": self.n_batches,
            "chosen": [{"id": i, "path": project.image(i).relpath, "score": s,
                        "proposal": self.proposals.get(i)} for i, s in self.chosen],
        }


def select_next(project: Project, strategy: str, batch_size: int, *,
                n_batches: int | None = None, seed: int = 0, aggregation: str = "mean",
                scorer: ModelScorer | None = None, write_proposals: bool = True,
                stop: threading.Event | None = None,
                fallback: bool = False) -> Job[Selection]:
    """Pick the next batch from unlabelled pool images, record it as an iteration, mark
    its images ``queued`` and store the proposal each will be shown with.

    A strategy that needs a model, with none trained yet: an error, or with ``fallback``
    (the default strategy, not one asked for) a random batch and a note saying so.
    """
    chooser = get_strategy(strategy)
    ids = project.image_ids(role=Role.POOL, status=Status.UNLABELED)
    if not ids:
        raise SpecimaskError(f"{project.root}: no unlabelled pool images left to select")
    note = None
    if chooser.needs_model and scorer is None:
        trained = [m["version"] for m in list_models(project)
                   if m["status"] in ("ready", "stopped")]
        if not fallback:
            why = (f"no model is active ({', '.join(trained)} did not replace the current "
                   f"proposals; `specimask models {project.root}`): activate one "
                   "(`specimask activate`)") if trained else "train one (`specimask train`)"
            raise SpecimaskError(f"the {strategy} strategy needs a trained model; {why}, "
                                 "or use --strategy random")
        why = "no model is active (none beat the cold-start proposals yet)" if trained \
            else "no trained model yet"
        note = f"{why}: a random batch instead of {strategy}, which needs one"
        strategy, chooser = "random", get_strategy("random")
    options = {"n_batches": n_batches, "aggregation": aggregation}
    score = (lambda wanted: scorer.score(wanted, stop)) if scorer is not None else None
    choice = yield from choose(chooser, Candidates(
        list(ids), batch_size, np.random.default_rng(seed), score, options))
    version = scorer.version if scorer is not None else active_version(project)
    proposals = (yield from store_proposals(project, project.images_by_id(choice.ids),
                                            scorer)) if write_proposals else {}
    chosen = [(i, choice.scores.get(i)) for i in choice.ids]
    params = {"n_batches": n_batches, "mode": "disjoint" if n_batches is None else "draw",
              "aggregation": aggregation, "n_candidates": len(ids),
              "n_scored": scorer.scored if scorer else 0, "batches": choice.n_batches,
              "batch_score": choice.batch_score}
    if scorer is not None:
        params.update(measure=scorer.spec.measure, views=scorer.spec.views_key)
    crash_point("selection.proposals_written")
    iteration = record_iteration_and_queue(
        project, strategy=strategy, seed=seed, batch_size=batch_size, model_version=version,
        params=params, chosen=chosen, batch_score=choice.batch_score, proposals=proposals)
    return Selection(iteration, strategy, version, chosen, choice.batch_score, len(ids),
                     params["n_scored"], choice.n_batches, proposals, note)


def choose(strategy: Strategy, candidates: Candidates) -> Job[Choice]:
    """Run a strategy (a plain ``choose`` or a Job) and check it chose candidates, once
    each: a wrong id would queue an image twice or one that is not in the pool."""
    result = strategy.choose(candidates)
    choice = (yield from result) if isinstance(result, Generator) else result
    allowed = set(candidates.ids)
    if len(set(choice.ids)) != len(choice.ids) or not allowed.issuperset(choice.ids):
        raise SpecimaskError(f"the {strategy.name} strategy chose an image twice or one "
                             "that is not an unlabelled pool image; nothing was queued")
    return choice


def proposal_spec(project: Project) -> ScoreSpec:
    """The TTA that queued proposals are made with (``[selection]`` in specimask.toml)."""
    s = project.settings.selection
    return ScoreSpec(tta=s.tta, precision=s.precision)


NOBODY = ""  # a holder name no annotator has: leases held by anyone


def unopened_queue(project: Project) -> list[int]:
    """Queued images no annotator holds a lease on: not on anyone's screen, so a new
    proposal replaces nothing a person is looking at or painting over."""
    held = leased_by_others(project, NOBODY)
    return [i for i in project.image_ids(status=Status.QUEUED) if i not in held]


def refresh_unopened(project: Project, version: str) -> Job[dict[int, str | None]]:
    """``version``'s proposals for the queued images nobody has open (asked now, after a
    training run during which people moved on): the one rule for the Train widget,
    continuous training and ``specimask continuous``."""
    ids = unopened_queue(project)
    if not ids:
        return {}
    return (yield from refresh_proposals(project, ids,
                                         ModelScorer(project, version, proposal_spec(project))))


def refresh_proposals(project: Project, image_ids: list[int],
                      scorer: ModelScorer) -> Job[dict[int, str | None]]:
    """After a retrain: new proposals for queued images from the new model, recorded
    against their latest iteration so accepted/corrected compare with what is shown."""
    out = yield from store_proposals(project, project.images_by_id(image_ids), scorer)
    set_latest_proposals(project, out)
    return out


def store_proposals(project: Project, records, scorer) -> Job[dict[int, str | None]]:
    """The model's proposal (``TTAMaps.proposal``); else the stored cold-start one
    (``coldstart.proposals``)."""
    out: dict[int, str | None] = {}
    if scorer is not None:
        for k, maps in enumerate(scorer.maps(records)):
            yield Progress(k, len(records), f"proposal for {maps.record.relpath}")
            project.write_proposal(maps.record.id, maps.proposal())
            out[maps.record.id] = scorer.version
        return out
    return store_cold_start_proposals(project, records)
