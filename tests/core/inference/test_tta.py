"""TTA views and their inverses, and the uncertainty measures scores are made of."""

from __future__ import annotations

import pytest
import torch

from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.inference.tta import (
    DIHEDRAL,
    MEASURES,
    make_views,
    tta_probabilities,
    uncertainty,
)


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
