"""Selection time with cached scores for pools of 1k, 10k and 100k images, and how many
images each strategy asks to score.

    python benchmarks/selection_time.py [--sizes 1000,10000,100000]

Builds a project per size with synthetic image rows and cached scores for a registered
model version (a tiny real checkpoint, never run: every score is cached), then times
`select_next` end to end (read candidates and scores, pick, record the iteration, queue):
stochastic in draw mode (50 batches of 20), stochastic disjoint, and top-k uncertainty.
Proposal writing is left out (it predicts only the 20 chosen images, whatever the pool).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from _machine import add_image_rows

from napari_specimask.core.active.queue import select_next
from napari_specimask.core.active.scoring import ModelScorer, ScoreSpec
from napari_specimask.core.model.factory import create_model
from napari_specimask.core.model.weights import ModelConfig, save_weights
from napari_specimask.core.progress import run
from napari_specimask.core.store.project import Project
from napari_specimask.core.store.registry import activate, finish_version, new_version
from napari_specimask.core.store.scores import store_scores


def build(root: Path, n: int) -> Project:
    project = Project.create(root)
    add_image_rows(project, [f"img/{i:07d}.jpg" for i in range(n)], 100, 100)
    config = ModelConfig(arch="unet", encoder="resnet18", img_size=64)
    version = new_version(project, None, None, [], asdict(config))
    save_weights(project.root / "models" / version,
                 create_model("unet", "resnet18", None).state_dict(), config)
    finish_version(project, version, "ready", {})
    activate(project, version)
    rng = np.random.default_rng(0)
    ids = [r[0] for r in project.store.read("SELECT id FROM images")]
    spec = ScoreSpec()
    store_scores(project, version, spec.measure, spec.views_key,
                 dict(zip(ids, rng.random(n).tolist())))
    return project


class Counting(ModelScorer):
    def score(self, ids, stop=None):
        self.asked = getattr(self, "asked", 0) + len(ids)
        return (yield from super().score(ids, stop))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    args = ap.parse_args()
    print(f"{'pool':>7}  {'strategy':<28} {'seconds':>8} {'asked to score':>15} {'computed':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in map(int, args.sizes.split(",")):
            project = build(Path(tmp) / f"p{n}", n)
            for name, strategy, n_batches in (("stochastic, draw 50 x 20", "stochastic", 50),
                                              ("stochastic, disjoint", "stochastic", None),
                                              ("uncertainty (top-k)", "uncertainty", None)):
                project.set_status([r[0] for r in project.store.read(
                    "SELECT id FROM images WHERE status = 'queued'")], "unlabeled")
                scorer = Counting(project, spec=ScoreSpec())
                t0 = time.perf_counter()
                run(select_next(project, strategy, 20, n_batches=n_batches, seed=1,
                                scorer=scorer, write_proposals=False))
                dt = time.perf_counter() - t0
                print(f"{n:>7}  {name:<28} {dt:8.3f} {scorer.asked:>15} {scorer.scored:>9}")
            project.close()


if __name__ == "__main__":
    main()
