"""Which proposals a person is shown: a new model replaces them only when it is better.

On real sheets the first weak model (val Dice 0.14) replaced cold-start proposals that
were far better (Dice 0.62), and people were asked to correct all-foreground masks. So
a finished model is *judged* before it becomes active: its proposals and those of the
current source (the active model, or cold start when there is none) are made for the
held-out verified masks (role ``val``; training holds some out when there are none,
``training.holdout``) exactly as Annotate would show them (TTA mean >= 0.5 at full size,
or the cold-start method with its post-processing), and it wins only with a higher mean
Dice. With no held-out mask there is nothing to judge on and the current source stays.
The verdict is stored with the version, so the GUI and ``specimask models`` can say
which source is in use and why.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from ..active.queue import proposal_spec
from ..active.scoring import ModelScorer
from ..coldstart.proposals import project_cold_start
from ..io.images import to_rgb8
from ..masks.metrics import dice_iou
from ..progress import Job, Progress, stopped
from ..store.project import ImageRecord, Project
from ..store.registry import activate, active_version, check_activation_rule, update_metrics
from ..store.verdicts import GATE_KEY, Verdict, cold_start_name
from ..training.config import TrainConfig
from ..training.fit import TrainResult, train_job
from ..vocabulary import Role, Status


def held_out(project: Project) -> list[ImageRecord]:
    """The images the gate judges on: role val, with a verified mask."""
    return project.images(role=Role.VAL, status=Status.LABELED)


def proposals_as_shown(project: Project, records: list[ImageRecord], version: str | None,
                       stop: threading.Event | None = None,
                       probability: bool = False) -> Job[Iterator]:
    """(proposal, probability map or None) per record, made as Annotate shows them: the
    proposal of ``version`` (``TTAMaps.proposal``), or (None) the project's cold start.
    The full-size probability map (what Predictions overlays) only when asked for."""
    if version is None:
        cold, _ = yield from project_cold_start(project, stop)
        return ((cold(to_rgb8(project.read_image(r))), None) for r in records)
    scorer = ModelScorer(project, version, proposal_spec(project))
    return ((m.proposal(),
             m.letterbox.invert(m.mean) if probability else None)
            for m in scorer.maps(records))


def proposal_dice(project: Project, records: list[ImageRecord], version: str | None,
                  stop: threading.Event | None = None) -> Job[float | None]:
    """Mean Dice of the proposals ``version`` (None: cold start) would show for
    ``records`` against their verified masks."""
    if not records:
        return None
    scores = []
    shown = yield from proposals_as_shown(project, records, version, stop)
    label = version or cold_start_name(project)
    for i, (record, (mask, _)) in enumerate(zip(records, shown)):
        yield Progress(i, len(records), f"judging {label} on {record.relpath}")
        scores.append(dice_iou(mask, project.load_mask(record.id))[0])
        if stopped(stop):
            return None
    return float(np.mean(scores))


def judge(project: Project, candidate: str, current: str | None,
          stop: threading.Event | None = None) -> Job[Verdict]:
    """Measure ``candidate`` and ``current`` (None: cold start) on the held-out masks and
    store the verdict with the candidate."""
    records = held_out(project)
    new = yield from proposal_dice(project, records, candidate, stop)
    old = yield from proposal_dice(project, records, current, stop)
    n = len(records) if new is not None and old is not None else 0  # None: none, or stopped
    verdict = Verdict(candidate, current or cold_start_name(project), new, old, n)
    update_metrics(project, candidate, {GATE_KEY: asdict(verdict)})
    return verdict


@dataclass
class GatedResult:
    trained: TrainResult
    verdict: Verdict | None      # None when the run did not finish (stopped, failed)
    activated: bool

    @property
    def summary(self) -> str:
        if self.verdict is None:
            return f"{self.trained.version} {self.trained.status}: not activated"
        then = "now active" if self.activated else "not activated"
        return f"{self.verdict.reason}; {self.trained.version} {then}"


def train_and_gate(project: Project, cfg: TrainConfig, activate_when: str = "better",
                   stop: threading.Event | None = None, parent: str | None = None,
                   distributed: bool = False) -> Job[GatedResult]:
    """Train a version, judge it against the current proposals, activate it by
    ``activate_when`` (better / always / never). A stopped run is never activated: a
    person who pressed Stop (or closed the dock) did not ask for it. ``distributed``:
    see ``training.fit.train``."""
    check_activation_rule(activate_when)
    trained = yield from train_job(project, cfg, stop, parent or active_version(project),
                                   distributed)
    # a rank other than zero of a distributed run (status FOLLOWER) ends here too: rank
    # zero alone judges, activates and writes the store
    if trained.status != "ready" or stopped(stop):
        return GatedResult(trained, None, False)
    current = active_version(project)  # what is shown now (someone may have switched)
    yield Progress(0, 1, f"comparing {trained.version} with the current proposals")
    verdict = yield from judge(project, trained.version, current, stop)
    activated = activate_when == "always" or (activate_when == "better" and verdict.better)
    if activated and not stopped(stop):
        activate(project, trained.version, by="gate" if verdict.better else "rule")
    return GatedResult(trained, verdict, activated and not stopped(stop))
