"""Top-k uncertainty: the batch-size candidates with the highest scores.

Every candidate is scored. Similar images tend to be uncertain together, so top-k
batches are often redundant; ``stochastic`` keeps the diversity.
"""

from __future__ import annotations

from ...progress import Job
from .base import Candidates, Choice, Strategy


class TopKUncertainty(Strategy):
    name = "uncertainty"

    def choose(self, candidates: Candidates) -> Job[Choice]:
        scores = yield from candidates.score(candidates.ids)
        order = sorted(scores, key=lambda i: -scores[i])
        return Choice(order[: candidates.batch_size], scores)
