"""Choosing the next batch to annotate: random, top-k uncertainty, or stochastic batches.

Stochastic batches (Gaillochet, Desrosiers & Lombaert, Medical Image Analysis 2023):
random batches of the unlabelled pool are scored by the mean (or max / sum) of their
images' uncertainty and the most uncertain batch wins, which keeps the diversity that
plain top-k loses. ``n_batches=None`` splits the shuffled pool into disjoint batches;
``n_batches=K`` draws K random batches (the plankton workflow used 50 of 20), and then
only the images in drawn batches are scored: the work grows with K x batch size, not
with the pool.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import numpy as np

from ..errors import SpecimaskError
from ..io.atomic import atomic_write_with
from ..io.images import save_mask_png
from ..model.weights import active_version
from ..progress import Job, Progress
from ..store.db import now
from ..store.project import Project
from ..vocabulary import AGGREGATIONS, STRATEGIES
from .scoring import ModelScorer


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

    def to_json(self, project: Project) -> dict:
        return {
            "iteration": self.iteration, "strategy": self.strategy,
            "model_version": self.model_version, "batch_score": self.batch_score,
            "n_candidates": self.n_candidates, "n_scored": self.n_scored,
            "n_batches": self.n_batches,
            "chosen": [{"id": i, "path": project.image(i).relpath, "score": s,
                        "proposal": self.proposals.get(i)} for i, s in self.chosen],
        }


def make_batches(ids: list[int], batch_size: int, n_batches: int | None,
                 rng: np.random.Generator) -> list[list[int]]:
    """Disjoint batches of the shuffled ids (``n_batches=None``), or K random draws."""
    if batch_size < 1:
        raise SpecimaskError(f"batch size must be at least 1, not {batch_size}")
    ids = list(ids)
    if len(ids) <= batch_size:
        return [ids]
    if n_batches is None:
        perm = [ids[i] for i in rng.permutation(len(ids))]
        return [perm[i : i + batch_size] for i in range(0, len(perm) - batch_size + 1,
                                                       batch_size)]
    if n_batches < 1:
        raise SpecimaskError(f"--n-batches must be at least 1, not {n_batches}")
    return [[ids[i] for i in rng.choice(len(ids), batch_size, replace=False)]
            for _ in range(n_batches)]


def aggregate(values: list[float], how: str) -> float:
    if how not in AGGREGATIONS:
        raise SpecimaskError(f"unknown aggregation {how!r}; choose one of "
                             f"{', '.join(AGGREGATIONS)}")
    return float({"mean": np.mean, "max": np.max, "sum": np.sum}[how](values))


def select_next(project: Project, strategy: str, batch_size: int, *,
                n_batches: int | None = None, seed: int = 0, aggregation: str = "mean",
                scorer: ModelScorer | None = None, write_proposals: bool = True,
                stop: threading.Event | None = None) -> Job[Selection]:
    """Pick the next batch from unlabelled pool images, record it as an iteration, mark
    its images ``queued`` and store the proposal each will be shown with."""
    if strategy not in STRATEGIES:
        raise SpecimaskError(f"unknown strategy {strategy!r}; choose one of "
                             f"{', '.join(STRATEGIES)}")
    ids = project.image_ids(role="pool", status="unlabeled")
    if not ids:
        raise SpecimaskError(f"{project.root}: no unlabelled pool images left to select")
    if strategy != "random" and scorer is None:
        raise SpecimaskError(f"the {strategy} strategy needs a trained model; train one "
                             "(`specimask train`) or use --strategy random")
    rng = np.random.default_rng(seed)
    batch_score, n_drawn = None, 0
    if strategy == "random":
        chosen_ids = [ids[i] for i in sorted(rng.choice(len(ids), min(batch_size, len(ids)),
                                                        replace=False))]
        scores: dict[int, float] = {}
    elif strategy == "uncertainty":
        scores = yield from scorer.score(ids, stop)
        order = sorted(scores, key=lambda i: -scores[i])
        chosen_ids = order[:batch_size]
    else:
        batches = make_batches(ids, batch_size, n_batches, rng)
        n_drawn = len(batches)
        needed = list(dict.fromkeys(i for b in batches for i in b))
        scores = yield from scorer.score(needed, stop)
        if len(scores) < len(needed):
            raise SpecimaskError("scoring was stopped before a batch could be chosen; "
                                 "nothing was queued (the scores so far are cached)")
        batch_scores = [aggregate([scores[i] for i in b], aggregation) for b in batches]
        best = int(np.argmax(batch_scores))
        chosen_ids, batch_score = batches[best], batch_scores[best]
    version = scorer.version if scorer is not None else active_version(project)
    proposals = (yield from store_proposals(project, project.images_by_id(chosen_ids),
                                            scorer)) if write_proposals else {}
    chosen = [(i, scores.get(i)) for i in chosen_ids]
    params = {"n_batches": n_batches, "mode": "disjoint" if n_batches is None else "draw",
              "aggregation": aggregation, "n_candidates": len(ids),
              "n_scored": scorer.scored if scorer else 0, "batches": n_drawn,
              "batch_score": batch_score}
    if scorer is not None:
        params.update(measure=scorer.spec.measure, views=scorer.spec.views_key)
    with project.store.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO iterations (created_at, strategy, seed, batch_size, model_version,"
            " params) VALUES (?, ?, ?, ?, ?, ?)",
            (now(), strategy, seed, batch_size, version, json.dumps(params)))
        iteration = cur.lastrowid
        conn.executemany(
            "INSERT INTO iteration_items (iteration_id, image_id, score, batch_score, proposal)"
            " VALUES (?, ?, ?, ?, ?)",
            [(iteration, i, s, batch_score, proposals.get(i)) for i, s in chosen])
        conn.executemany("UPDATE images SET status = 'queued' WHERE id = ?",
                         [(i,) for i in chosen_ids])
    return Selection(iteration, strategy, version, chosen, batch_score, len(ids),
                     params["n_scored"], n_drawn, proposals)


def refresh_proposals(project: Project, image_ids: list[int],
                      scorer: ModelScorer) -> Job[dict[int, str | None]]:
    """After a retrain: new proposals for queued images from the new model, recorded
    against their latest iteration so accepted/corrected compare with what is shown."""
    out = yield from store_proposals(project, project.images_by_id(image_ids), scorer)
    with project.store.transaction() as conn:
        conn.executemany(
            "UPDATE iteration_items SET proposal = ? WHERE image_id = ? AND iteration_id ="
            " (SELECT MAX(iteration_id) FROM iteration_items WHERE image_id = ?)",
            [(v, i, i) for i, v in out.items()])
    return out


def store_proposals(project: Project, records, scorer) -> Job[dict[int, str | None]]:
    """The model's TTA mean (>= 0.5) at original size; else the cold-start proposal."""
    out: dict[int, str | None] = {}
    if scorer is not None:
        for k, maps in enumerate(scorer.maps(records)):
            yield Progress(k, len(records), f"proposal for {maps.record.relpath}")
            mask = maps.letterbox.invert_mask(maps.mean)
            atomic_write_with(project.mask_file(maps.record.id, "proposal"),
                              lambda tmp, m=mask: save_mask_png(tmp, m))
            out[maps.record.id] = scorer.version
        return out
    for rec in records:
        pseudo = project.load_mask(rec.id, "pseudo")
        if pseudo is not None:
            atomic_write_with(project.mask_file(rec.id, "proposal"),
                              lambda tmp, m=pseudo: save_mask_png(tmp, m))
        else:  # no proposal now: an old one must not be shown
            project.mask_file(rec.id, "proposal").unlink(missing_ok=True)
        out[rec.id] = "pseudo" if pseudo is not None else None
    return out
