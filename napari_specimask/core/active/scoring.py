"""Per-image uncertainty scores from TTA, cached per (image, model version).

Score = mean uncertainty over the pixels inside the letterbox (padding excluded), at
model size: no full-size map is ever made, and JPEGs are decoded only at the scale the
model input needs (``inference.pipeline``). Scores live in the ``scores`` table
(``store.scores``), so after a retrain only images not yet scored by the new version are
computed, and re-selecting with the same model reads them.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from ..devices import Ranks, one_process
from ..inference.pipeline import (
    ImageDataset,
    batches_of,
    make_loader,
    network_batches,
    worker_count,
)
from ..inference.predict import default_device
from ..inference.tta import MEASURES, make_views
from ..masks.letterbox import Letterbox
from ..model.weights import load_model
from ..progress import Job, Progress, stopped
from ..store.project import ImageRecord, Project
from ..store.scores import cached_scores, store_scores

STORE_EVERY = 64  # images scored between writes to the store (and meetings of the ranks)


@dataclass(frozen=True)
class ScoreSpec:
    measure: str = "jsd"
    tta: int = 8
    photometric: tuple[str, ...] = ()
    alpha: float = 0.5
    precision: str = "auto"  # TTA in bf16 on AMX CPUs / fp16 on CUDA (docs/benchmarks.md)

    @property
    def views_key(self) -> str:
        return "d" + str(self.tta) + "".join(f"+{p}" for p in self.photometric)


@dataclass
class TTAMaps:
    record: ImageRecord
    letterbox: Letterbox
    mean: np.ndarray         # (size, size) mean probability over views
    uncertainty: np.ndarray  # (size, size) in [0, 1]

    @property
    def score(self) -> float:
        return float(self.uncertainty[self.letterbox.valid()].mean())

    def proposal(self) -> np.ndarray:
        """The mask a model proposes, wherever one is shown or judged: the TTA mean
        >= 0.5, at the image's size."""
        return self.letterbox.invert_mask(self.mean)


class ModelScorer:
    """A model version loaded once, scoring project images with TTA."""

    def __init__(self, project: Project, version: str | None = None,
                 spec: ScoreSpec = ScoreSpec(), device=None, batch_images: int | None = None,
                 workers: int | None = None):
        if spec.measure not in MEASURES:
            from ..errors import SpecimaskError

            raise SpecimaskError(f"unknown measure {spec.measure!r}; choose one of "
                                 f"{', '.join(MEASURES)}")
        self.project, self.spec = project, spec
        self.device = device or default_device()
        self.model, self.config, self.version = load_model(project, version, self.device)
        self.model = self.model.to(memory_format=torch.channels_last)
        self.views = make_views(spec.tta, spec.photometric)
        # images per network call; each brings len(views) items
        self.batch_images = batch_images or (8 if self.device.type == "cuda" else 2)
        self.scored = 0  # images actually run through the network (cache misses)
        self.workers = workers  # decoding processes; None: 2 for more than a batch

    def maps(self, records: list[ImageRecord],
             batches: list[list[int]] | None = None) -> Iterator[TTAMaps]:
        """TTA mean and uncertainty of each record, batched (``batches``: indices into
        ``records``; default all, in order). Images are decoded at the smallest scale that
        covers the model input (JPEGs at 1/2 to 1/8, never whole just to be shrunk), in
        worker processes when there are enough of them."""
        dataset = ImageDataset([self.project.image_path(r) for r in records],
                               self.config.img_size, self.project.settings.images.max_pixels)
        if batches is None:
            batches = batches_of(range(len(records)), self.batch_images)
        workers = worker_count(self.workers, sum(map(len, batches)), self.batch_images)
        loader = make_loader(dataset, batches, workers, pin_memory=self.device.type == "cuda")
        for out in network_batches(self.model, self.config, loader, self.views, self.device,
                                   self.spec.precision, self.spec.measure, self.spec.alpha,
                                   with_uncertainty=True):
            for it in out.batch.items:
                it.raise_error(dataset.paths[it.index])
            for j, it in enumerate(out.batch.readable):
                yield TTAMaps(records[it.index], it.letterbox, out.mean[j],
                              out.uncertainty[j])

    def score(self, ids: list[int], stop: threading.Event | None = None,
              ranks: Ranks | None = None) -> Job[dict[int, float]]:
        """Scores of the images ``ids``: cached ones read, the rest computed and stored.

        With the ``ranks`` of a run over several devices or nodes each rank scores its
        share of the batches; every ``STORE_EVERY`` images or so the ranks meet, and rank
        zero stores what all of them computed (so a kill loses at most that much, and the
        store has one writer). Progress counts this rank's share."""
        ranks = ranks or one_process()
        key = (self.version, self.spec.measure, self.spec.views_key)
        scores = cached_scores(self.project, *key, ids)
        todo = self.project.images_by_id(ranks.broadcast([i for i in ids if i not in scores]))
        batches = batches_of(range(len(todo)), self.batch_images)
        mine = ranks.share(batches)
        per_round = max(1, STORE_EVERY // self.batch_images)
        rounds = math.ceil(math.ceil(len(batches) / ranks.world) / per_round)
        ends = list(itertools.accumulate(sum(map(len, mine[r * per_round:(r + 1) * per_round]))
                                         for r in range(rounds)))
        share = ends[-1] if ends else 0  # this rank's images: all of them in one process
        yield Progress(0, share, f"scoring {share} image(s) with {self.version}")
        maps, fresh, done = self.maps(todo, mine), {}, 0
        for end in ends:  # the same number of rounds on every rank
            while done < end and not stopped(stop):
                m = next(maps)
                fresh[m.record.id] = m.score
                done += 1
                yield Progress(done, share, m.record.relpath)
            parts = ranks.gather((fresh, stopped(stop)))
            self._keep(key, scores, [part for part, _ in parts], ranks)
            fresh = {}
            if any(was for _, was in parts):
                break
        maps.close()
        return scores

    def _keep(self, key: tuple, scores: dict, parts: list[dict], ranks: Ranks) -> None:
        """One round's scores from every rank, stored by rank zero."""
        fresh = {i: v for part in parts for i, v in part.items()}
        if ranks.is_zero:
            store_scores(self.project, *key, fresh)
        scores.update(fresh)
        self.scored += len(fresh)
