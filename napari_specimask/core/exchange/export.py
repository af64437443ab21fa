"""Write a project's masks out: as mask images, specimen cut-outs, COCO JSON, or a
provenance table saying where each mask came from.

Everything goes through temp file + rename, so an interrupted export never leaves a
half-written file that looks complete. ``which``, ``role`` and ``status`` pick the masks
and images the same way for every format.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import SpecimaskError
from ..io.atomic import atomic_path, atomic_write_bytes
from ..io.images import to_rgb8, write_image
from ..io.naming import tagged_names
from ..progress import Job, Progress, stopped
from ..store.db import now
from ..store.iterations import selection_items, source_model
from ..store.masks import latest_annotations
from ..store.project import ImageRecord, Project
from ..vocabulary import COLD_START, VERIFIED_ORIGINS, MaskKind

FORMATS = ("png", "tif")  # mask images
EXPORT_FORMATS = (*FORMATS, "cutout", "coco", "provenance")
WHICH = tuple(k.value for k in MaskKind)
BACKGROUNDS = ("transparent", "white")
DEFAULT_FILES = {"coco": "coco.json", "provenance": "provenance.csv"}
PROVENANCE_COLUMNS = (
    "image_id", "relpath", "sha256", "width", "height", "role", "status", "mask_file",
    "origin", "method", "author", "created_at", "iteration", "selection_score",
    "proposal_source", "model_version", "proposal_dice", "edited_fraction", "seconds",
    "foreground_fraction",
)


@dataclass
class ExportReport:
    written: list[Path] = field(default_factory=list)
    without_mask: int = 0
    empty: int = 0  # cut-outs not written: the mask is empty
    images: int = 0  # images in a COCO file / rows in a provenance table
    annotations: int = 0  # COCO annotations (non-empty masks)
    stopped: bool = False
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (relpath, file name)

    def wrote(self, record: ImageRecord, target: Path) -> None:
        self.written.append(target)
        if target.stem != record.name:  # another image has its stem
            self.renamed.append((record.relpath, target.name))


def each_mask(project: Project, records: list[ImageRecord], which: str, report: ExportReport,
              handle: Callable[[ImageRecord, np.ndarray], None],
              stop: threading.Event | None = None) -> Job[bool]:
    """Call ``handle(record, mask)`` for every record with a mask of kind ``which``,
    counting those without one; False when stopped (the caller decides what to keep)."""
    for i, record in enumerate(records):
        if stopped(stop):
            report.stopped = True
            return False
        yield Progress(i, len(records), record.relpath)
        mask = project.load_mask(record.id, which)
        if mask is None:
            report.without_mask += 1
            continue
        handle(record, mask)
    return True


def export(project: Project, out: str | Path, fmt: str = "png", which: str = "verified",
           role: str | None = None, status: str | None = None,
           stop: threading.Event | None = None, **cutout) -> Job[ExportReport]:
    """Any export format; ``cutout`` takes the options of ``export_cutouts``."""
    if fmt not in EXPORT_FORMATS:
        raise SpecimaskError(f"unknown export format {fmt!r}; choose one of "
                             f"{', '.join(EXPORT_FORMATS)}")
    if fmt in FORMATS:
        return export_masks(project, out, fmt, which, role, status, stop)
    if fmt == "cutout":
        return export_cutouts(project, out, which, role, status, stop=stop, **cutout)
    if fmt == "coco":
        return export_coco(project, out, which, role, status, stop)
    return export_provenance(project, out, which, role, status, stop)


def export_masks(project: Project, out_dir: str | Path, fmt: str = "png",
                 which: str = "verified", role: str | None = None,
                 status: str | None = None,
                 stop: threading.Event | None = None) -> Job[ExportReport]:
    """Masks as 0/255 images named ``<image stem>.<fmt>`` (``<stem>__<id>`` on a clash)."""
    if fmt not in FORMATS:
        raise SpecimaskError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    _check_which(which)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = project.images(role=role, status=status)
    stems = tagged_names({r.id: r.name for r in records})  # stem, or <stem>__<id>
    report = ExportReport()

    def write(record, mask):
        target = out_dir / f"{stems[record.id]}.{fmt}"
        write_image(target, mask.astype("uint8") * 255)
        report.wrote(record, target)

    yield from each_mask(project, records, which, report, write, stop)
    yield Progress(len(records), len(records), "done")
    return report


def export_cutouts(project: Project, out_dir: str | Path, which: str = "verified",
                   role: str | None = None, status: str | None = None, *,
                   background: str = "transparent", crop: bool = False, margin: int = 16,
                   jpeg: bool = False, stop: threading.Event | None = None
                   ) -> Job[ExportReport]:
    """The specimen alone: on transparency (RGBA PNG) or white (PNG, or JPEG with ``jpeg``),
    at the image's size or cropped to the mask's box plus ``margin`` px.

    For classifiers and galleries that should see the specimen, not the sheet or the
    sample cell. Empty masks give no file (counted in ``empty``).
    """
    _check_which(which)
    if background not in BACKGROUNDS:
        raise SpecimaskError(f"unknown background {background!r}; choose one of "
                             f"{', '.join(BACKGROUNDS)}")
    if jpeg and background != "white":
        raise SpecimaskError("JPEG has no transparency: use --background white with --jpeg")
    if margin < 0:
        raise SpecimaskError(f"margin {margin} is negative; give 0 or more pixels")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = project.images(role=role, status=status)
    stems = tagged_names({r.id: r.name for r in records})  # stem, or <stem>__<id>
    suffix = "jpg" if jpeg else "png"
    report = ExportReport()

    def write(record, mask):
        if not mask.any():
            report.empty += 1
            return
        rgb = to_rgb8(project.read_image(record))
        if crop:
            rgb, mask = _crop(rgb, mask, margin)
        if background == "white":
            pixels = np.where(mask[..., None], rgb, np.uint8(255))
        else:  # hidden pixels zeroed: smaller files, nothing of the sheet left in them
            pixels = np.dstack([np.where(mask[..., None], rgb, np.uint8(0)),
                                np.where(mask, 255, 0).astype(np.uint8)])
        target = out_dir / f"{stems[record.id]}.{suffix}"
        with atomic_path(target) as tmp:
            Image.fromarray(pixels).save(tmp, **({"format": "JPEG", "quality": 95} if jpeg
                                                 else {"format": "PNG"}))
        report.wrote(record, target)

    yield from each_mask(project, records, which, report, write, stop)
    yield Progress(len(records), len(records), "done")
    return report


def export_coco(project: Project, out: str | Path, which: str = "verified",
                role: str | None = None, status: str | None = None,
                stop: threading.Event | None = None) -> Job[ExportReport]:
    """One COCO instance-segmentation file: each image with a mask, one ``specimen``
    annotation per non-empty mask as compressed RLE (what pycocotools, detectron2 and
    most trainers read). ``file_name`` is the image's path relative to the project.

    An image whose mask is empty is listed without annotations: a known negative.
    """
    try:
        from pycocotools import mask as coco_mask
    except ImportError:  # pragma: no cover - the coco extra (in all and test) brings it
        raise SpecimaskError('COCO export needs pycocotools: pip install '
                             '"napari-specimask[coco]"') from None
    _check_which(which)
    target = _file_target(out, "coco")
    records = project.images(role=role, status=status)
    report = ExportReport()
    images, annotations = [], []

    def add(record, mask):
        images.append({"id": record.id, "file_name": record.relpath,
                       "width": record.width, "height": record.height})
        if not mask.any():
            return
        rle = coco_mask.encode(np.asfortranarray(mask.astype(np.uint8)))
        annotations.append({
            "id": len(annotations) + 1, "image_id": record.id, "category_id": 1,
            "segmentation": {"size": [int(s) for s in rle["size"]],
                             "counts": rle["counts"].decode("ascii")},
            "area": int(coco_mask.area(rle)),
            "bbox": [float(v) for v in coco_mask.toBbox(rle)],
            "iscrowd": 0,
        })

    if not (yield from each_mask(project, records, which, report, add, stop)):
        return report  # nothing written: a partial file would look complete
    from ... import __version__

    doc = {
        "info": {"description": f"specimen masks of {project.settings.name} ({which})",
                 "version": __version__, "date_created": now(),
                 "contributor": "napari-specimask", "mask_kind": which},
        "licenses": [],
        "images": images,
        "annotations": annotations,
        "categories": [{"id": 1, "name": "specimen", "supercategory": "specimen"}],
    }
    yield Progress(len(records), len(records), f"writing {target.name}")
    atomic_write_bytes(target, json.dumps(doc).encode("utf-8"))
    report.written.append(target)
    report.images, report.annotations = len(images), len(annotations)
    return report


def export_provenance(project: Project, out: str | Path, which: str = "verified",
                      role: str | None = None, status: str | None = None,
                      stop: threading.Event | None = None) -> Job[ExportReport]:
    """A CSV row per image with a mask: who or what made it, when, in which round, from
    which proposal and with how much editing (for methods sections and audits)."""
    _check_which(which)
    target = _file_target(out, "provenance")
    records = project.images(role=role, status=status)
    # the annotation behind each image's mask (proposals are files, not annotations)
    latest = {} if which == MaskKind.PROPOSAL else latest_annotations(
        project, VERIFIED_ORIGINS if which == MaskKind.VERIFIED else (COLD_START,))
    items = selection_items(project)
    report = ExportReport()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=PROVENANCE_COLUMNS)
    writer.writeheader()
    for i, record in enumerate(records):
        if stopped(stop):
            report.stopped = True
            return report
        if i % 200 == 0:
            yield Progress(i, len(records), record.relpath)
        ann = latest.get(record.id, {})
        mask_file = project.proposal_file(record.id) if which == MaskKind.PROPOSAL else (
            project.root / ann["mask_path"] if ann else None)
        if mask_file is None or not mask_file.exists():
            report.without_mask += 1
            continue
        seen = items.get(record.id, {})
        # a proposal belongs to the image's latest selection; a saved mask only to the
        # selection it was annotated in (an imported mask to none)
        if which == MaskKind.PROPOSAL:
            item = seen[max(seen)] if seen else {}
        else:
            item = seen.get(ann.get("iteration"), {})
        source = item.get("proposal")
        model = ann.get("model_version") or source_model(source)
        writer.writerow({
            "image_id": record.id, "relpath": record.relpath, "sha256": record.sha256,
            "width": record.width, "height": record.height, "role": record.role,
            "status": record.status, "mask_file": mask_file.relative_to(project.root).as_posix(),
            "origin": ann.get("origin", "proposal" if which == MaskKind.PROPOSAL else None),
            "method": ann.get("method"), "author": ann.get("author"),
            "created_at": ann.get("created_at"),
            "iteration": ann.get("iteration") or item.get("iteration_id"),
            "selection_score": item.get("score"), "proposal_source": source,
            "model_version": model, "proposal_dice": ann.get("proposal_dice"),
            "edited_fraction": ann.get("edited_fraction"), "seconds": ann.get("seconds"),
            "foreground_fraction": ann.get("foreground_fraction"),
        })
        report.images += 1
    yield Progress(len(records), len(records), f"writing {target.name}")
    atomic_write_bytes(target, buffer.getvalue().encode("utf-8"))
    report.written.append(target)
    return report


def _crop(rgb: np.ndarray, mask: np.ndarray, margin: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    top, bottom = max(rows[0] - margin, 0), min(rows[-1] + 1 + margin, mask.shape[0])
    left, right = max(cols[0] - margin, 0), min(cols[-1] + 1 + margin, mask.shape[1])
    return rgb[top:bottom, left:right], mask[top:bottom, left:right]


def _file_target(out: str | Path, fmt: str) -> Path:
    """``--out`` names the file, or a folder (existing, or without a suffix) to put
    ``coco.json`` / ``provenance.csv`` in."""
    out = Path(out)
    if out.is_dir() or not out.suffix:
        out = out / DEFAULT_FILES[fmt]
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def _check_which(which: str) -> None:
    if which not in WHICH:
        raise SpecimaskError(f"unknown mask kind {which!r}; choose one of {', '.join(WHICH)}")
