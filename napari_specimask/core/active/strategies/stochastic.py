"""Stochastic batches (Gaillochet, Desrosiers & Lombaert, Medical Image Analysis 2023).

Random batches of the unlabelled pool are scored by the mean (or max / sum) of their
images' uncertainty and the most uncertain batch wins, which keeps the diversity that
plain top-k loses. ``n_batches=None`` splits the shuffled pool into disjoint batches;
``n_batches=K`` draws K random batches (the plankton workflow used 50 of 20), and then
only the images in drawn batches are scored: the work grows with K x batch size, not
with the pool.
"""

from __future__ import annotations

import numpy as np

from ...errors import SpecimaskError
from ...progress import Job
from ...vocabulary import AGGREGATIONS
from .base import Candidates, Choice, Strategy


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


class StochasticBatches(Strategy):
    """Options: ``n_batches`` (None: disjoint) and ``aggregation`` (mean, max, sum)."""

    name = "stochastic"

    def choose(self, candidates: Candidates) -> Job[Choice]:
        opts = candidates.options
        batches = make_batches(candidates.ids, candidates.batch_size,
                               opts.get("n_batches"), candidates.rng)
        needed = list(dict.fromkeys(i for b in batches for i in b))
        scores = yield from candidates.score(needed)
        if len(scores) < len(needed):
            raise SpecimaskError("scoring was stopped before a batch could be chosen; "
                                 "nothing was queued (the scores so far are cached)")
        how = opts.get("aggregation", "mean")
        batch_scores = [aggregate([scores[i] for i in b], how) for b in batches]
        best = int(np.argmax(batch_scores))
        return Choice(batches[best], scores, batch_scores[best], len(batches))
