"""The randomized kill loop (benchmarks/kill_loop.py): at least 200 SIGKILLs at random
moments across annotate, import, train and select; nothing lost, nothing inconsistent.
About 25 minutes on 2 cores: run it with `pytest -m slow tests/crash`."""

from __future__ import annotations

import pytest


@pytest.mark.slow
def test_200_random_kills_lose_nothing(kill_loop, workspace):
    stats = kill_loop.kill_loop(workspace, kills=200, seed=1)
    print(stats)
    assert sum(s["kills"] for s in stats.values()) >= 200
    assert all(s["kills"] > 0 for s in stats.values())  # every command was really killed
    assert sum(s["lost"] for s in stats.values()) == 0
    assert sum(s["inconsistent"] for s in stats.values()) == 0
