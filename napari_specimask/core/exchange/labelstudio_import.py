"""Brush masks of a Label Studio JSON export, for images already in a project.

The export is read by ``labelstudio`` (tasks, names, brush results); here each task is
paired with one project image by file name and its mask saved, under the same rules as a
folder of masks (``mask_import``): one bad task never stops the import.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from ..errors import SpecimaskError
from ..io.files import Skipped
from ..progress import Job, Progress, stopped
from ..store.project import ImageRecord, Project
from . import labelstudio as ls
from .mask_import import MaskImportReport, check_origin, has_verified, kept_reason


def import_labelstudio(
    project: Project,
    export_path: str | Path,
    label: str | None = None,
    as_: str = "labels",
    method: str | None = None,
    overwrite: bool = False,
    stop: threading.Event | None = None,
) -> Job[MaskImportReport]:
    """Brush masks of a Label Studio JSON export for the project's images; yields Progress.

    A task is paired by its image's file name, with Label Studio's upload prefix
    (``3f2a9c1d-``) stripped if the exact name is not in the project. Of its annotations
    the latest non-cancelled one counts; its brush results (``label`` only, if given) are
    merged into one mask.
    """
    origin = check_origin(as_)
    export_path = Path(export_path)
    tasks = ls.load_export(export_path)
    labels = ls.labels_in(tasks)
    if not labels:
        raise SpecimaskError(f"{export_path}: no brush annotations in {len(tasks)} task(s); "
                             "only BrushLabels (RLE) masks can be imported")
    if label is not None and label not in labels:
        raise SpecimaskError(f"{export_path}: no brush results labelled {label!r}; the export "
                             f"has {', '.join(repr(x) for x in labels)}")
    items = ls.brush_tasks(tasks, label)
    run = _TaskImport(project, export_path, origin, method, overwrite)
    report = run.report
    any_matched = False
    for k, item in enumerate(items):
        if stopped(stop):
            report.stopped = True
            break
        what = _task_label(item)
        yield Progress(k, len(items), what)
        any_matched |= run.take(item, what)
    if not any_matched and not report.stopped:
        names = [n for item in items for n in item.names[:1]][:3]
        raise SpecimaskError(
            f"{export_path}: none of its {len(items)} task(s) names an image of the project "
            f"(e.g. {', '.join(names) or 'no file names'}); add the images first with "
            "`specimask import`, then import the export again")
    yield Progress(len(items), len(items), "done")
    return report


@dataclass
class _TaskImport:
    """What one import run needs across tasks: the images by file name, who got a mask."""

    project: Project
    export: Path
    origin: str
    method: str | None
    overwrite: bool
    report: MaskImportReport = field(default_factory=MaskImportReport)
    done: dict[int, str] = field(default_factory=dict)  # image id -> the task that gave it
    by_name: dict[str, list[ImageRecord]] = field(init=False)

    def __post_init__(self):
        self.by_name = defaultdict(list)
        for record in self.project.images():
            self.by_name[PurePosixPath(record.relpath).name].append(record)

    def take(self, item: ls.BrushTask, what: str) -> bool:
        """Save the task's mask or say in the report why not; False if no image matches."""
        report = self.report
        try:
            record = _match_task(item, self.by_name)
        except SpecimaskError as exc:
            report.skipped.append(Skipped(what, str(exc)))
            return True
        if record is None:
            report.unmatched.append(what)
            return False
        if item.problem is not None:
            report.skipped.append(Skipped(what, f"{self.export}: {item.problem}"))
        elif item.note is not None:
            report.without_mask.append(f"{what}: {item.note}")
        elif record.id in self.done:
            report.skipped.append(Skipped(what, f"{record.relpath} already got a mask from "
                                                f"{self.done[record.id]} in this export"))
        elif (self.origin == "imported" and not self.overwrite
              and has_verified(self.project, record)):
            report.skipped.append(Skipped(what, kept_reason(record)))
        else:
            try:
                mask = _task_mask(item, record)
                name = (self.method or
                        f"labelstudio task {item.task_id} annotation {item.annotation_id}")
                self.project.save_mask(record.id, mask, self.origin, method=name,
                                       author=item.author)
            except SpecimaskError as exc:
                report.skipped.append(Skipped(what, str(exc)))
                return True
            self.done[record.id] = what
            report.imported.append(record.id)
        return True


def _task_label(item: ls.BrushTask) -> str:
    tid = item.task_id if item.task_id is not None else f"#{item.index + 1}"
    return f"task {tid} ({item.names[0] if item.names else item.source})"


def _match_task(item: ls.BrushTask, by_name: dict[str, list[ImageRecord]]
                ) -> ImageRecord | None:
    for names in (item.names, [ls.strip_upload_prefix(n) for n in item.names]):
        for name in names:
            found = by_name.get(name, [])
            if len(found) == 1:
                return found[0]
            if len(found) > 1:
                raise SpecimaskError(
                    f"{name} names {len(found)} project images "
                    f"({', '.join(r.relpath for r in found)}); rename one so each is unique")
    return None


def _task_mask(item: ls.BrushTask, record: ImageRecord) -> np.ndarray:
    mask = np.zeros((record.height, record.width), bool)
    for result in item.results:
        w, h = ls.result_size(result)
        if (h, w) != mask.shape:
            turned = (" (width and height swapped: was the image turned, e.g. by its EXIF "
                      "orientation?)") if (w, h) == mask.shape else ""
            raise SpecimaskError(
                f"Label Studio's mask is {w} x {h} px, the project image {record.relpath} is "
                f"{record.width} x {record.height} px{turned}; masks are never resized")
        part, _, _ = ls.result_mask(result)
        mask |= part
    return mask
