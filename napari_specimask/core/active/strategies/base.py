"""The one signature every selection strategy has: choose from scored candidates.

A strategy is handed the candidates (ids, batch size, a seeded RNG, its options and a
way to score ids) and returns a ``Choice``. It never sees the project: recording the
iteration, queueing the images and writing proposals are ``core.active.queue``'s work,
so a strategy cannot write, and one can be tested with a dict of scores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...progress import Job

# score(ids) is a Job returning {id: score} for those ids (cached ones read, the rest
# computed); a stopped job returns fewer. Only what a strategy asks for is scored.
ScoreFn = Callable[[list[int]], Job[dict[int, float]]]


@dataclass(frozen=True)
class Candidates:
    ids: list[int]                 # unlabelled pool images, in id (import) order
    batch_size: int
    rng: np.random.Generator       # seeded by the selection: draws are reproducible
    score: ScoreFn | None          # None when there is no model
    options: Mapping[str, Any] = field(default_factory=dict)  # n_batches, aggregation


@dataclass
class Choice:
    ids: list[int]                                        # chosen, in queue order
    scores: dict[int, float] = field(default_factory=dict)  # looked at (recorded per image)
    batch_score: float | None = None                      # the chosen batch's, if any
    n_batches: int = 0                                    # batches compared, if any


class Strategy:
    """Subclass, set ``name`` and override ``choose``; register it in ``__init__.py``.

    ``choose`` returns a ``Choice``, or is a generator (``Job[Choice]``) when it scores:
    ``scores = yield from candidates.score(ids)`` passes the scorer's progress on.
    """

    name: str = ""
    needs_model: bool = True  # the queue refuses it without a trained model

    def choose(self, candidates: Candidates) -> Choice | Job[Choice]:
        raise NotImplementedError
