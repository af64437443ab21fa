"""Strategies only choose: each on plain ids and scores, the registry against the
vocabulary, and the worked example of docs/development.md run as written."""

from __future__ import annotations

import inspect
import re
import shlex
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from napari_specimask.core.active import strategies
from napari_specimask.core.active.queue import select_next
from napari_specimask.core.active.strategies import REGISTRY, Candidates, Choice, Strategy
from napari_specimask.core.active.strategies.stochastic import aggregate, make_batches
from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.progress import Progress, run
from napari_specimask.core.vocabulary import STRATEGIES

DOC = Path(__file__).resolve().parents[3] / "docs" / "development.md"
PACKAGE = strategies.__name__


def test_make_batches_disjoint_and_draw():
    rng = np.random.default_rng(0)
    ids = list(range(23))
    batches = make_batches(ids, 5, None, rng)
    flat = [i for b in batches for i in b]
    assert len(batches) == 4 and len(set(flat)) == 20 and all(len(b) == 5 for b in batches)
    drawn = make_batches(ids, 5, 7, rng)
    assert len(drawn) == 7 and all(len(set(b)) == 5 for b in drawn)
    assert aggregate([1, 2, 6], "mean") == 3 and aggregate([1, 2, 6], "max") == 6
    assert aggregate([1, 2, 6], "sum") == 9


def test_registry_names_are_the_vocabulary():
    assert tuple(REGISTRY) == STRATEGIES
    assert all(s.name == name and isinstance(s, Strategy) for name, s in REGISTRY.items())


def test_strategies_load_without_torch():
    code = (f"import sys, {PACKAGE}\n"
            "sys.exit(1 if 'torch' in sys.modules else 0)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


class Scores:
    """``score`` for a Candidates: the table's values of what was asked, counted."""

    def __init__(self, table: dict[int, float], give: int | None = None):
        self.table, self.asked, self.give = table, [], give

    def __call__(self, ids):
        self.asked += list(ids)
        yield Progress(len(ids), len(ids), "")
        return {i: self.table[i] for i in ids[: self.give]}


def choose(strategy: Strategy, candidates: Candidates) -> Choice:
    result = strategy.choose(candidates)
    return run(result) if inspect.isgenerator(result) else result


def ask(ids, k, score=None, seed=0, **options) -> Candidates:
    return Candidates(list(ids), k, np.random.default_rng(seed), score, options)


def snapshot(project) -> dict[str, bytes]:
    return {str(p.relative_to(project.root)): p.read_bytes()
            for p in sorted(project.root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", STRATEGIES)
def test_each_strategy_only_chooses(name, pool_project):
    """Handed ids and a score function (never the project), a strategy returns a choice of
    distinct candidates and leaves the store and the project folder as they were."""
    strategy = REGISTRY[name]
    assert list(inspect.signature(strategy.choose).parameters) == ["candidates"]
    ids = pool_project.image_ids()
    before = snapshot(pool_project)
    candidates = ask(ids, 5, Scores({i: i / 40 for i in ids}), seed=1, n_batches=3)
    choice = choose(strategy, candidates)
    assert len(choice.ids) == len(set(choice.ids)) == 5 and set(choice.ids) <= set(ids)
    assert candidates.ids == ids and snapshot(pool_project) == before


def test_topk_random_and_stochastic_on_plain_scores():
    ids = list(range(100, 130))
    table = {i: float(i % 7) for i in ids}
    top = choose(REGISTRY["uncertainty"], ask(ids, 4, Scores(table)))
    assert [table[i] for i in top.ids] == [6.0] * 4 and top.scores == table
    a, b = (choose(REGISTRY["random"], ask(ids, 6, seed=9)) for _ in range(2))
    assert a.ids == b.ids and a.scores == {}  # seeded, and it needs no score
    best = choose(REGISTRY["stochastic"], ask(ids, 5, Scores(table), aggregation="max"))
    assert best.n_batches == 6 and best.batch_score == 6.0  # disjoint: 30 / 5 batches
    with pytest.raises(SpecimaskError, match="scoring was stopped"):
        choose(REGISTRY["stochastic"], ask(ids, 5, Scores(table, give=3), n_batches=2))


def test_draw_mode_scores_at_most_k_batches_whatever_the_pool():
    ids = list(range(100_000))
    score = Scores({i: (i * 7919 % 1000) / 1000 for i in ids})
    choice = choose(REGISTRY["stochastic"], ask(ids, 20, score, n_batches=50))
    assert len(score.asked) <= 1000 and choice.n_batches == 50 and len(choice.ids) == 20


# -- the worked example of docs/development.md, "Adding a selection strategy" -------

def doc_blocks(lang: str) -> list[str]:
    section = DOC.read_text().split("## Adding a selection strategy", 1)[1]
    return re.findall(rf"```{lang}\n(.*?)```", section, re.S)


@pytest.fixture
def first_k(monkeypatch):
    """The doc's strategy file, registration and vocabulary, installed as written."""
    strategy_file, registration, vocabulary = doc_blocks("python")
    module = types.ModuleType(f"{PACKAGE}.first_k")
    module.__package__ = PACKAGE
    exec(compile(strategy_file, "first_k.py", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    names = {"__name__": PACKAGE, "__package__": PACKAGE, **vars(strategies)}
    exec(registration, names)
    exec(vocabulary, names)
    assert tuple(names["REGISTRY"]) == names["STRATEGIES"]  # the two lists still agree
    monkeypatch.setattr(strategies, "REGISTRY", names["REGISTRY"])
    monkeypatch.setattr("napari_specimask.cli._active.STRATEGIES", names["STRATEGIES"])
    return names["REGISTRY"]["first-k"]


def test_the_doc_example_is_usable_through_select_next(first_k, pool_project, fake_scorer):
    ids = pool_project.image_ids()
    sel = run(select_next(pool_project, "first-k", 4))  # no model: nothing scored
    assert [i for i, _ in sel.chosen] == ids[:4] and sel.chosen[0][1] is None
    scorer = fake_scorer({i: i / 100 for i in ids})
    sel = run(select_next(pool_project, "first-k", 3, scorer=scorer, write_proposals=False))
    assert sel.chosen == [(i, i / 100) for i in ids[4:7]] and scorer.asked == ids[4:7]
    assert {r.id for r in pool_project.images(status="queued")} == set(ids[:7])


def test_the_doc_example_from_the_command_line(first_k, pool_project, capsys):
    import json

    from napari_specimask.cli import main

    line = next(s for s in doc_blocks("bash")[0].splitlines() if "select" in s)
    argv = [str(pool_project.root) if a == "PROJECT" else a for a in shlex.split(line)[1:]]
    capsys.readouterr()
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["strategy"] == "first-k"
    assert [c["id"] for c in result["chosen"]] == pool_project.image_ids()[:10]
