"""A pool of 40 small images and a scorer with known scores, for the selection tests."""

from __future__ import annotations

import numpy as np
import pytest

from napari_specimask.core.progress import Progress, run


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


@pytest.fixture
def fake_scorer():
    """The ``FakeScorer`` class: ``fake_scorer({id: score})``."""
    return FakeScorer
