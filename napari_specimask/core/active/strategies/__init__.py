"""Selection strategies, by the name a user gives (``--strategy``, the widget's list).

The names must be ``core.vocabulary.STRATEGIES`` (the CLI builds its parser from there
without importing this package; a test checks the two agree). To add a strategy: one
file with a ``Strategy`` subclass, one entry below, its name in the vocabulary
(docs/active-learning.md, "Adding a selection strategy").
"""

from __future__ import annotations

from ...errors import SpecimaskError
from .base import Candidates, Choice, Strategy
from .random import RandomChoice
from .stochastic import StochasticBatches
from .topk import TopKUncertainty

REGISTRY: dict[str, Strategy] = {
    s.name: s for s in (RandomChoice(), TopKUncertainty(), StochasticBatches())
}


def get_strategy(name: str) -> Strategy:
    if name not in REGISTRY:
        raise SpecimaskError(f"unknown strategy {name!r}; choose one of "
                             f"{', '.join(REGISTRY)}")
    return REGISTRY[name]


__all__ = ["REGISTRY", "Candidates", "Choice", "Strategy", "get_strategy"]
