"""Random: batch-size candidates drawn uniformly; the baseline that needs no model."""

from __future__ import annotations

from .base import Candidates, Choice, Strategy


class RandomChoice(Strategy):
    name = "random"
    needs_model = False

    def choose(self, candidates: Candidates) -> Choice:
        ids, k = candidates.ids, min(candidates.batch_size, len(candidates.ids))
        picked = sorted(candidates.rng.choice(len(ids), k, replace=False))
        return Choice([ids[i] for i in picked])
