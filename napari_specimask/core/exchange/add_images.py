"""Images come into a project ready to correct: imported, then each new one given a
cold-start proposal, the method chosen on the project's own images the first time.

The one path for the GUI's *Add images…*, ``specimask init`` and ``specimask import``,
so the first image a person opens has a mask to correct wherever it was added from.
``propose=False`` imports only (a collection of millions, proposed later or by a model).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from ..coldstart.choice import ColdStartChoice
from ..coldstart.proposals import project_cold_start, propose_masks
from ..progress import Job, stopped
from ..store.project import Project
from ..vocabulary import Role
from .image_import import ImportReport, import_images


@dataclass
class AddReport:
    imported: ImportReport
    method: str                     # the project's cold-start method, after this
    proposed: int = 0               # new images given a cold-start proposal
    choice: ColdStartChoice | None = None  # the method was chosen now, and why


def add_images(project: Project, images_dir: str | Path, masks_dir: str | Path | None = None,
               role: str = Role.POOL, propose: bool = True,
               stop: threading.Event | None = None) -> Job[AddReport]:
    """Import ``images_dir`` (``import_images``), then give the new images without a
    verified mask their cold-start proposal (``propose_masks``)."""
    report = yield from import_images(project, images_dir, masks_dir, role, stop)
    out = AddReport(report, project.settings.coldstart.method)
    if not propose or not report.added or stopped(stop):
        return out  # nothing new (the folder was added before): nothing to choose on
    cold_start, out.choice = yield from project_cold_start(project, stop)  # auto: chosen
    out.method = cold_start.method
    out.proposed = yield from propose_masks(project, cold_start, stop=stop,
                                            image_ids=report.added)
    return out
