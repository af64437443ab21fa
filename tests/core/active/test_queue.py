"""The queue: candidates, the strategy's choice recorded as an iteration, images queued."""

from __future__ import annotations

import numpy as np
import pytest

from napari_specimask.core.active.queue import select_next
from napari_specimask.core.active.strategies import REGISTRY, Choice, Strategy
from napari_specimask.core.active.strategies.stochastic import make_batches
from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.progress import run
from napari_specimask.core.store.iterations import (
    latest_iteration_item,
    list_iterations,
    set_latest_proposals,
)


def test_stochastic_picks_the_batch_with_the_highest_mean(pool_project, fake_scorer):
    ids = [r.id for r in pool_project.images()]
    # images with odd ids are very uncertain: top-k would take them all, but a batch
    # mixes both, so the best batch is the one with the most odd ids
    scorer = fake_scorer({i: (0.9 if i % 2 else 0.1) for i in ids})
    sel = run(select_next(pool_project, "stochastic", 5, n_batches=None, seed=3,
                          scorer=scorer, write_proposals=False))
    batches = make_batches(ids, 5, None, np.random.default_rng(3))
    means = [np.mean([scorer.table[i] for i in b]) for b in batches]
    assert [i for i, _ in sel.chosen] == batches[int(np.argmax(means))]
    assert sel.batch_score == pytest.approx(max(means))
    again = fake_scorer(scorer.table)
    pool_project.set_status(ids, "unlabeled")
    sel2 = run(select_next(pool_project, "stochastic", 5, seed=3, scorer=again,
                           write_proposals=False))
    assert sel2.chosen == sel.chosen  # reproducible with a seed


def test_draw_mode_scores_only_the_drawn_images(pool_project, fake_scorer):
    ids = [r.id for r in pool_project.images()]
    scorer = fake_scorer({i: float(i) for i in ids})
    sel = run(select_next(pool_project, "stochastic", 3, n_batches=2, seed=1, scorer=scorer,
                          write_proposals=False))
    drawn = make_batches(ids, 3, 2, np.random.default_rng(1))
    assert sorted(scorer.asked) == sorted({i for b in drawn for i in b})
    assert scorer.scored <= 6 < len(ids)
    assert sel.n_batches == 2


def test_uncertainty_takes_top_k_and_random_needs_no_model(pool_project, fake_scorer):
    ids = [r.id for r in pool_project.images()]
    scorer = fake_scorer({i: float(i) for i in ids})
    sel = run(select_next(pool_project, "uncertainty", 4, scorer=scorer, write_proposals=False))
    assert [i for i, _ in sel.chosen] == sorted(ids)[-4:][::-1]
    rnd = run(select_next(pool_project, "random", 4, seed=0))
    assert len(rnd.chosen) == 4 and not {i for i, _ in rnd.chosen} & {i for i, _ in sel.chosen}
    with pytest.raises(SpecimaskError, match="needs a trained model"):
        run(select_next(pool_project, "stochastic", 4))


def test_selection_is_recorded_and_queues_images(pool_project, fake_scorer):
    scorer = fake_scorer({r.id: 0.5 for r in pool_project.images()})
    sel = run(select_next(pool_project, "stochastic", 5, n_batches=4, seed=2, scorer=scorer,
                          write_proposals=False))
    it = pool_project.store.read_one("SELECT * FROM iterations WHERE id = ?", (sel.iteration,))
    assert it["strategy"] == "stochastic" and it["seed"] == 2 and it["model_version"] == "vfake"
    items = pool_project.store.read("SELECT * FROM iteration_items WHERE iteration_id = ?",
                                    (sel.iteration,))
    assert sorted(r["image_id"] for r in items) == sorted(i for i, _ in sel.chosen)
    assert all(r["score"] == 0.5 for r in items)
    assert len(pool_project.images(status="queued")) == 5
    assert pool_project.summary()["iteration"] == sel.iteration


def test_an_unknown_strategy_is_refused(pool_project):
    with pytest.raises(SpecimaskError, match="unknown strategy 'best'; choose one of random"):
        run(select_next(pool_project, "best", 4))


class Careless(Strategy):
    """Chooses an image twice: the queue must catch it before anything is recorded."""

    name, needs_model = "careless", False

    def choose(self, candidates):
        return Choice([candidates.ids[0], candidates.ids[0]])


def test_a_choice_outside_the_candidates_queues_nothing(pool_project, monkeypatch):
    monkeypatch.setitem(REGISTRY, "careless", Careless())
    with pytest.raises(SpecimaskError, match="chose an image twice"):
        run(select_next(pool_project, "careless", 2))
    assert list_iterations(pool_project) == [] and not pool_project.images(status="queued")


def test_iteration_params_and_proposals_of_the_latest_iteration(pool_project, fake_scorer):
    ids = [r.id for r in pool_project.images()]
    first = run(select_next(pool_project, "random", 3, seed=4, write_proposals=False))
    pool_project.set_status(ids, "unlabeled")
    again = run(select_next(pool_project, "uncertainty", 3, scorer=fake_scorer(
        {i: float(i in {c for c, _ in first.chosen}) for i in ids}), write_proposals=False))
    assert {i for i, _ in again.chosen} == {i for i, _ in first.chosen}
    rows = list_iterations(pool_project)
    assert rows[0]["params"] == {"n_batches": None, "mode": "disjoint", "aggregation": "mean",
                                 "n_candidates": 40, "n_scored": 0, "batches": 0,
                                 "batch_score": None}
    assert rows[1]["params"]["n_scored"] == 40 and rows[1]["params"]["measure"] == "jsd"
    image = again.chosen[0][0]
    set_latest_proposals(pool_project, {image: "v9"})  # what a retrain's refresh records
    item = latest_iteration_item(pool_project, image)
    assert item["iteration_id"] == again.iteration and item["proposal"] == "v9"
    older = pool_project.store.read_one(
        "SELECT proposal FROM iteration_items WHERE iteration_id = ? AND image_id = ?",
        (first.iteration, image))
    assert older["proposal"] is None
