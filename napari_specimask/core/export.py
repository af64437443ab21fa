"""Write a project's masks out as image files named after their images."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SpecimaskError
from .image_io import write_image
from .progress import Job, Progress, stopped
from .project import Project

FORMATS = ("png", "tif")
WHICH = ("verified", "pseudo", "proposal")


@dataclass
class ExportReport:
    written: list[Path] = field(default_factory=list)
    without_mask: int = 0


def export_masks(project: Project, out_dir: str | Path, fmt: str = "png",
                 which: str = "verified", role: str | None = None,
                 status: str | None = None,
                 stop: threading.Event | None = None) -> Job[ExportReport]:
    """Masks as 0/255 images named ``<image stem>.<fmt>`` (``<stem>__<id>`` on a clash)."""
    if fmt not in FORMATS:
        raise SpecimaskError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if which not in WHICH:
        raise SpecimaskError(f"unknown mask kind {which!r}; choose one of {', '.join(WHICH)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = project.images(role=role, status=status)
    counts = Counter(r.name for r in records)
    report = ExportReport()
    for i, record in enumerate(records):
        if stopped(stop):
            break
        yield Progress(i, len(records), record.relpath)
        mask = project.load_mask(record.id, which)
        if mask is None:
            report.without_mask += 1
            continue
        stem = f"{record.name}__{record.id}" if counts[record.name] > 1 else record.name
        target = out_dir / f"{stem}.{fmt}"
        write_image(target, mask.astype("uint8") * 255)
        report.written.append(target)
    yield Progress(len(records), len(records), "done")
    return report

