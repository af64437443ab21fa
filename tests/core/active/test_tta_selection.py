"""TTA views and uncertainty, stochastic-batch selection, bookkeeping of annotations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_specimask.core.active.annotations import iteration_summary, submit_mask
from napari_specimask.core.active.selection import aggregate, make_batches, select_next
from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.inference.tta import (
    DIHEDRAL,
    MEASURES,
    make_views,
    tta_probabilities,
    uncertainty,
)
from napari_specimask.core.progress import Progress, run


def test_every_view_inverse_restores_identity_on_a_pattern():
    x = torch.arange(2 * 3 * 6 * 6, dtype=torch.float32).reshape(2, 3, 6, 6) / 216
    assert len(DIHEDRAL) == 8 and len({(v.rot, v.flip) for v in DIHEDRAL}) == 8
    outputs = set()
    for view in DIHEDRAL:
        seen = view.apply(x)
        outputs.add(seen[0, 0].numpy().tobytes())
        assert torch.equal(view.invert(seen), x)            # exact inverse
        assert torch.equal(view.invert(seen[:, :1]), x[:, :1])  # on a 1-channel output
    assert len(outputs) == 8  # eight genuinely different views


def test_photometric_views_need_no_inversion():
    views = make_views(2, ("gamma", "noise"))
    assert [v.name for v in views] == ["rot0", "rot90", "gamma0.8", "gamma1.25", "noise0.03"]
    y = torch.rand(1, 1, 5, 5)
    assert all(torch.equal(v.invert(y), y) for v in views[2:])
    with pytest.raises(SpecimaskError):
        make_views(9)
    with pytest.raises(SpecimaskError, match="gamma, noise"):
        make_views(8, ("blur",))


@pytest.mark.parametrize("measure", MEASURES)
def test_uncertainty_is_zero_when_all_views_agree_confidently(measure):
    probs = torch.zeros(8, 1, 4, 4)
    probs[:, :, :2] = 1.0
    assert uncertainty(probs, measure).max() < 1e-4


def test_disagreement_measures_zero_for_agreeing_views_at_any_confidence():
    probs = torch.full((8, 1, 3, 3), 0.3)
    for measure in ("variance", "mi"):
        assert uncertainty(probs, measure).abs().max() < 1e-6
    # entropy of the mean still sees the low confidence
    assert uncertainty(probs, "entropy").min() > 0.8


def test_uncertainty_values_when_views_disagree():
    probs = torch.tensor([0.0, 1.0] * 4).reshape(8, 1, 1, 1)  # half say yes, half no
    assert uncertainty(probs, "variance").item() == pytest.approx(1.0)  # 4 x 0.25
    assert uncertainty(probs, "entropy").item() == pytest.approx(1.0, abs=1e-4)
    assert uncertainty(probs, "mi").item() == pytest.approx(1.0, abs=1e-4)
    assert uncertainty(probs, "jsd", alpha=0.5).item() == pytest.approx(0.5, abs=1e-4)


def test_tta_batches_all_views_in_one_call_and_inverts():
    calls = []

    class Recorder(torch.nn.Module):
        def forward(self, x):
            calls.append(x.shape)
            return x[:, :1] * 0 + (x[:, :1] > 0).float() * 20 - 10  # logits of a threshold

    x = torch.zeros(2, 3, 8, 8)
    x[:, :, :3, :5] = 1.0  # an asymmetric bright block
    probs = tta_probabilities(Recorder(), x, list(DIHEDRAL), (0, 0, 0), (1, 1, 1),
                              torch.device("cpu"), "32")
    assert calls == [torch.Size([16, 3, 8, 8])]  # 2 images x 8 views, one call
    expected = (x[:, 0] > 0).float()
    for v in range(8):
        assert torch.allclose(probs[v], expected, atol=1e-4)  # every view mapped back


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


class FakeScorer:
    """Known per-image scores; counts what it is asked to score."""

    def __init__(self, scores: dict[int, float]):
        self.table, self.asked, self.scored = scores, [], 0
        self.version = "vfake"
        from napari_specimask.core.active.scoring import ScoreSpec

        self.spec = ScoreSpec()

    def score(self, ids, stop=None):
        self.asked += list(ids)
        self.scored += len(ids)
        yield Progress(len(ids), len(ids), "")
        return {i: self.table[i] for i in ids}

    def maps(self, records):
        return iter(())


@pytest.fixture
def pool_project(project, tmp_path):
    from PIL import Image

    from napari_specimask.core.exchange.image_import import import_images

    d = tmp_path / "pool"
    d.mkdir()
    for i in range(40):
        img = np.full((16, 16, 3), i * 5, np.uint8)
        Image.fromarray(img).save(d / f"im{i:02d}.png")
    run(import_images(project, d))
    return project


def test_stochastic_picks_the_batch_with_the_highest_mean(pool_project):
    ids = [r.id for r in pool_project.images()]
    # images with odd ids are very uncertain: top-k would take them all, but a batch
    # mixes both, so the best batch is the one with the most odd ids
    scorer = FakeScorer({i: (0.9 if i % 2 else 0.1) for i in ids})
    sel = run(select_next(pool_project, "stochastic", 5, n_batches=None, seed=3,
                          scorer=scorer, write_proposals=False))
    batches = make_batches(ids, 5, None, np.random.default_rng(3))
    means = [np.mean([scorer.table[i] for i in b]) for b in batches]
    assert [i for i, _ in sel.chosen] == batches[int(np.argmax(means))]
    assert sel.batch_score == pytest.approx(max(means))
    again = FakeScorer(scorer.table)
    pool_project.set_status(ids, "unlabeled")
    sel2 = run(select_next(pool_project, "stochastic", 5, seed=3, scorer=again,
                           write_proposals=False))
    assert sel2.chosen == sel.chosen  # reproducible with a seed


def test_draw_mode_scores_only_the_drawn_images(pool_project):
    ids = [r.id for r in pool_project.images()]
    scorer = FakeScorer({i: float(i) for i in ids})
    sel = run(select_next(pool_project, "stochastic", 3, n_batches=2, seed=1, scorer=scorer,
                          write_proposals=False))
    drawn = make_batches(ids, 3, 2, np.random.default_rng(1))
    assert sorted(scorer.asked) == sorted({i for b in drawn for i in b})
    assert scorer.scored <= 6 < len(ids)
    assert sel.n_batches == 2


def test_uncertainty_takes_top_k_and_random_needs_no_model(pool_project):
    ids = [r.id for r in pool_project.images()]
    scorer = FakeScorer({i: float(i) for i in ids})
    sel = run(select_next(pool_project, "uncertainty", 4, scorer=scorer, write_proposals=False))
    assert [i for i, _ in sel.chosen] == sorted(ids)[-4:][::-1]
    rnd = run(select_next(pool_project, "random", 4, seed=0))
    assert len(rnd.chosen) == 4 and not set(i for i, _ in rnd.chosen) & set(sel.chosen)
    with pytest.raises(SpecimaskError, match="needs a trained model"):
        run(select_next(pool_project, "stochastic", 4))


def test_selection_is_recorded_and_queues_images(pool_project):
    scorer = FakeScorer({r.id: 0.5 for r in pool_project.images()})
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


def test_accepted_vs_corrected_bookkeeping(pool_project):
    from napari_specimask.core.io.images import write_mask_png

    ids = [r.id for r in pool_project.images()]
    for i in ids[:3]:  # cold-start proposals become the shown proposals
        m = np.zeros((16, 16), bool)
        m[4:12, 4:12] = True
        pool_project.save_mask(i, m, "pseudo", method="otsu")
    sel = run(select_next(pool_project, "random", 3, seed=0))
    chosen = [i for i, _ in sel.chosen]
    proposal = pool_project.load_mask(chosen[0], "proposal")
    assert proposal is not None or sel.proposals[chosen[0]] is None
    results = []
    for k, image_id in enumerate(chosen):
        shown = pool_project.load_mask(image_id, "proposal")
        if shown is None:
            shown = np.zeros((16, 16), bool)
            write_mask_png(pool_project.mask_file(image_id, "proposal"), shown)
        mask = shown.copy()
        if k > 0:
            mask[0, :8] = ~mask[0, :8]  # 8 of 256 pixels changed
        results.append(submit_mask(pool_project, image_id, mask, seconds=12.5))
    assert [r["origin"] for r in results] == ["accepted", "corrected", "corrected"]
    assert results[1]["edited_fraction"] == pytest.approx(8 / 256)
    assert results[0]["proposal_dice"] == pytest.approx(1.0)
    (row,) = iteration_summary(pool_project)
    assert (row["selected"], row["annotated"], row["corrected"], row["accepted"]) == (3, 3, 2, 1)
    assert row["mean_seconds"] == pytest.approx(12.5)
    assert row["mean_proposal_dice"] < 1.0
    assert len(pool_project.images(status="labeled")) == 3
