"""The project's cold-start method: chosen on its own images, then applied to all.

The two reference workflows chose differently (inverted Otsu for herbarium sheets, a
background threshold for plankton) and both were right for their images; a fixed
default marked whole sheets on real herbaria. A new project's ``[coldstart] method`` is
``auto``: the first time cold start runs, ``choose_cold_start`` measures every method on
a seeded sample of the project's images (by Dice where some have verified masks, else by
an unsupervised score, docs/cold-start.md) and the winner is written to specimask.toml
with the reason, so later images, the GUI's picker and the proposal gate use the same.
Running cold start again also refreshes the queued images still shown a cold-start
proposal.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from ..errors import SpecimaskError
from ..io.images import to_rgb8
from ..masks.postprocess import PostProcess
from ..progress import Job, Progress, stopped
from ..store.iterations import latest_iteration_item, set_latest_proposals
from ..store.project import ImageRecord, Project
from ..vocabulary import COLD_START, MaskKind, Status
from .choice import ColdStartChoice, MethodComparison, choose_cold_start, compare_methods
from .methods import METHODS, ColdStart

AUTO = "auto"
SAMPLE = 8  # images the choice is measured on (a few seconds for 1000 px sheets)
log = logging.getLogger("napari_specimask")


def sample_records(project: Project, n: int = SAMPLE, seed: int = 0) -> list[ImageRecord]:
    """Up to ``n`` images: those with a verified mask first (they measure Dice), then a
    seeded random draw of the rest."""
    records = project.images()
    verified = set(project.mask_paths(MaskKind.VERIFIED))
    first = [r for r in records if r.id in verified]
    rest = [r for r in records if r.id not in verified]
    order = np.random.default_rng(seed).permutation(len(rest))
    return (first + [rest[i] for i in order])[:n]


@dataclass
class Sample:
    """Images of the project with their verified masks (None where not verified)."""

    records: list[ImageRecord]
    images: list[np.ndarray]
    verified: list[np.ndarray | None]


def load_sample(project: Project, n: int = SAMPLE, seed: int = 0,
                stop: threading.Event | None = None) -> Job[Sample]:
    records = sample_records(project, n, seed)
    images, verified = [], []
    for i, r in enumerate(records):
        if stopped(stop):
            break
        yield Progress(i, len(records), f"reading {r.relpath}")
        images.append(to_rgb8(project.read_image(r)))
        verified.append(project.load_mask(r.id))
    return Sample(records[: len(images)], images, verified)


def preview_methods(project: Project, post: PostProcess, n: int = SAMPLE,
                    stop: threading.Event | None = None) -> Job[tuple[Sample, MethodComparison]]:
    """A few of the project's images, every method's mask of each and the choice they
    make (the rule of ``pick_method``, each method run once): what a person compares
    before choosing."""
    sample = yield from load_sample(project, n, stop=stop)
    yield Progress(0, 1, f"comparing {', '.join(METHODS)} on {len(sample.images)} image(s)")
    return sample, compare_methods(sample.images, sample.verified, post, keep_masks=True)


def pick_method(project: Project, post: PostProcess | None = None, n: int = SAMPLE,
                seed: int = 0, stop: threading.Event | None = None) -> Job[ColdStartChoice]:
    """Measure every method on a sample of the project (``choose_cold_start``)."""
    sample = yield from load_sample(project, n, seed, stop)
    yield Progress(0, 1, f"comparing {', '.join(METHODS)} on {len(sample.images)} image(s)")
    post = post or PostProcess.of(project.settings.coldstart)
    return choose_cold_start(sample.images, sample.verified, post)


def project_cold_start(project: Project, stop: threading.Event | None = None,
                       **overrides) -> Job[tuple[ColdStart, ColdStartChoice | None]]:
    """The project's cold start (settings, then the ``overrides`` that are not None); an
    ``auto`` method is chosen now on the project's images and stored in specimask.toml,
    and the choice comes back with it (else None)."""
    choice = None
    if (overrides.get("method") or project.settings.coldstart.method) == AUTO:
        if not project.image_ids():
            raise SpecimaskError(f"{project.root}: no images yet to choose a cold-start "
                                 "method on; add images first")
        choice = yield from pick_method(project, stop=stop)
        project.settings.coldstart.method = choice.method
        project.save_settings()
        log.info("cold start: %s", choice.reason)
        overrides = {**overrides, "method": choice.method}
    return ColdStart.from_settings(project.settings.coldstart, **overrides), choice


def apply_cold_start(project: Project, cold_start: ColdStart,
                     include_labeled: bool = False, image_ids: list[int] | None = None,
                     keep: frozenset[int] = frozenset(),
                     stop: threading.Event | None = None) -> Job[int]:
    """Store ``cold_start``'s proposals, make it the project's ``[coldstart]`` settings
    (what new images get and what models are judged against), and refresh the queued
    images still shown a cold-start proposal (except ``keep``)."""
    project.settings.coldstart.method = cold_start.method
    cold_start.post.store_in(project.settings.coldstart)
    project.save_settings()
    done = yield from propose_masks(project, cold_start, include_labeled, stop, image_ids)
    if not stopped(stop):
        yield from refresh_cold_start_proposals(project, keep)
    return done


def propose_masks(project: Project, cold_start: ColdStart, include_labeled: bool = False,
                  stop: threading.Event | None = None,
                  image_ids: list[int] | None = None) -> Job[int]:
    """Store a cold-start proposal for each unlabelled image (or all, or ``image_ids``);
    returns how many."""
    records = project.images_by_id(image_ids) if image_ids is not None else project.images()
    records = [r for r in records if include_labeled or r.status != Status.LABELED]
    done = 0
    for i, record in enumerate(records):
        if stopped(stop):
            break
        yield Progress(i, len(records), record.relpath)
        mask = cold_start(to_rgb8(project.read_image(record)))
        project.save_mask(record.id, mask, COLD_START, method=cold_start.method)
        done += 1
    yield Progress(len(records), len(records), "done")
    return done


def refresh_cold_start_proposals(project: Project,
                                 keep: frozenset[int] = frozenset()) -> Job[list[int]]:
    """After cold start ran again: queued images still shown with a cold-start proposal
    get the new one (their frozen ``proposals/`` copy would win otherwise). Images shown
    a model's proposal keep it, and so do ``keep`` (the one a person is editing, unless
    they chose to replace it). Returns the refreshed ids."""
    ids = [i for i in project.image_ids(status=Status.QUEUED) if i not in keep
           and (row := latest_iteration_item(project, i)) is not None
           and row["proposal"] in (COLD_START, None)]
    out = store_cold_start_proposals(project, project.images_by_id(ids))
    yield Progress(len(ids), len(ids), "cold-start proposals refreshed")
    set_latest_proposals(project, out)
    return ids


def store_cold_start_proposals(project: Project, records) -> dict[int, str | None]:
    """Each record's stored cold-start mask as what it is shown; none where it has none
    (an old proposal must not be shown)."""
    out: dict[int, str | None] = {}
    for rec in records:
        cold = project.load_mask(rec.id, MaskKind.COLD_START)
        project.write_proposal(rec.id, cold)
        out[rec.id] = COLD_START if cold is not None else None
    return out
