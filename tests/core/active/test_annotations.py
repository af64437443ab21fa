"""A saved mask against the proposal it was shown with, and the per-iteration tallies."""

from __future__ import annotations

import numpy as np
import pytest

from napari_specimask.core.active.annotations import iteration_summary, submit_mask
from napari_specimask.core.active.queue import select_next
from napari_specimask.core.progress import run


def test_accepted_vs_corrected_bookkeeping(pool_project):
    from napari_specimask.core.io.images import write_mask_png

    ids = [r.id for r in pool_project.images()]
    for i in ids[:3]:  # cold-start proposals become the shown proposals
        m = np.zeros((16, 16), bool)
        m[4:12, 4:12] = True
        pool_project.save_mask(i, m, "coldstart", method="otsu")
    sel = run(select_next(pool_project, "random", 3, seed=0))
    chosen = [i for i, _ in sel.chosen]
    proposal = pool_project.load_mask(chosen[0], "proposal")
    assert proposal is not None or sel.proposals[chosen[0]] is None
    results = []
    for k, image_id in enumerate(chosen):
        shown = pool_project.load_mask(image_id, "proposal")
        if shown is None:
            shown = np.zeros((16, 16), bool)
            write_mask_png(pool_project.proposal_file(image_id), shown)
        mask = shown.copy()
        if k > 0:
            mask[0, :8] = ~mask[0, :8]  # 8 of 256 pixels changed
        results.append(submit_mask(pool_project, image_id, mask, seconds=12.5))
    assert [r["origin"] for r in results] == ["accepted", "corrected", "corrected"]
    assert results[1]["edited_fraction"] == pytest.approx(8 / 256)
    # what the correction did, in pixels each way, kept with the annotation (schema v6)
    shown = pool_project.load_mask(chosen[1], "proposal")
    added, removed = int((~shown[0, :8]).sum()), int(shown[0, :8].sum())
    assert (results[1]["pixels_added"], results[1]["pixels_removed"]) == (added, removed)
    row = pool_project.annotations(chosen[1])[-1]
    assert (row["pixels_added"], row["pixels_removed"]) == (added, removed)
    assert (results[0]["pixels_added"], results[0]["pixels_removed"]) == (0, 0)
    assert results[0]["proposal_dice"] == pytest.approx(1.0)
    (row,) = iteration_summary(pool_project)
    assert (row["selected"], row["annotated"], row["corrected"], row["accepted"]) == (3, 3, 2, 1)
    assert row["mean_seconds"] == pytest.approx(12.5)
    assert row["mean_proposal_dice"] < 1.0
    assert len(pool_project.images(status="labeled")) == 3
