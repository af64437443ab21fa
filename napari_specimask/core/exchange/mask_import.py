"""Masks made elsewhere, for images already in a project: a folder of mask images (any
model's predictions, another tool's labels) here, a Label Studio JSON export in
``labelstudio_import`` (which shares this module's report and rules).

Imported ``labels`` count as verified (origin ``imported``); imported ``coldstart`` masks
become the cold-start proposals a person corrects. As with images, one bad file never
stops an import: it is listed with the reason and the rest go in. A verified mask a
person already made is never replaced unless asked (``overwrite``).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from ..errors import ImageReadError, SpecimaskError
from ..io.files import MASK_SUFFIXES, Skipped, list_files
from ..io.images import IMAGE_SUFFIXES, is_image_path, read_mask, read_pixels
from ..masks.postprocess_folder import PREDICTION_MAP_DIRS
from ..progress import Job, Progress, stopped
from ..store.project import ImageRecord, Project
from ..vocabulary import COLD_START, Origin

AS_KINDS = ("labels", COLD_START)
_ORIGIN = {"labels": Origin.IMPORTED, COLD_START: Origin.COLD_START}


@dataclass
class MaskImportReport:
    imported: list[int] = field(default_factory=list)  # image ids
    without_mask: list[str] = field(default_factory=list)  # images (or tasks) with none
    skipped: list[Skipped] = field(default_factory=list)  # found but not used, with why
    unmatched: list[str] = field(default_factory=list)  # masks/tasks of no project image
    stopped: bool = False


def check_origin(as_: str) -> str:
    if as_ not in AS_KINDS:
        raise SpecimaskError(f"unknown import kind {as_!r}; choose one of {', '.join(AS_KINDS)}")
    return _ORIGIN[as_]


# -- a folder of masks -----------------------------------------------------------------


def import_mask_folder(
    project: Project,
    masks_dir: str | Path,
    as_: str = "labels",
    method: str | None = None,
    threshold: float | None = None,
    overwrite: bool = False,
    stop: threading.Event | None = None,
) -> Job[MaskImportReport]:
    """Pair masks with project images by stem (``leaf1.jpg`` takes ``leaf1.png`` or
    ``leaf1_mask.tif``), in subfolders mirroring the images' or flat; yields Progress.

    ``threshold`` (0-1 of the value range) reads grey maps, such as a model's
    probabilities; without it a mask must have two values, as everywhere else.
    """
    origin = check_origin(as_)
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise SpecimaskError(f"threshold {threshold} is outside (0, 1]; give a fraction of "
                             "the value range, e.g. 0.5")
    masks_dir = Path(masks_dir)
    if not masks_dir.is_dir():
        raise SpecimaskError(f"{masks_dir}: masks folder not found")
    index = _index_masks(masks_dir)
    if not index:
        raise SpecimaskError(f"{masks_dir}: no mask images here (looked for "
                             f"{', '.join(sorted(IMAGE_SUFFIXES))}, recursively)")
    records = project.images()
    report = MaskImportReport()
    matches = _pair(project, records, index, masks_dir, report)
    max_pixels = project.settings.images.max_pixels
    todo = [r for r in records if r.id in matches]
    for i, record in enumerate(todo):
        if stopped(stop):
            report.stopped = True
            break
        yield Progress(i, len(todo), record.relpath)
        path = matches[record.id]
        if origin == "imported" and not overwrite and has_verified(project, record):
            report.skipped.append(Skipped(str(path), kept_reason(record)))
            continue
        problem = _save_one(project, record, path, masks_dir, origin, method, threshold,
                            max_pixels)
        if problem is not None:
            report.skipped.append(Skipped(str(path), problem))
        else:
            report.imported.append(record.id)
    yield Progress(len(todo), len(todo), "done")
    return report


def _pair(project: Project, records: list[ImageRecord], index: dict[str, dict[str, Path]],
          masks_dir: Path, report: MaskImportReport) -> dict[int, Path]:
    """Each image id's mask file. Images without one, a mask that two images match and
    masks of no image are noted in ``report``; raises when no mask matches at all."""
    matches: dict[int, Path] = {}
    users: dict[Path, list[ImageRecord]] = defaultdict(list)
    for record in records:
        found = _match(index, masks_dir, record.relpath, project.image_path(record))
        if found is None:
            report.without_mask.append(record.relpath)
        else:
            matches[record.id] = found
            users[found].append(record)
    for path, recs in users.items():
        if len(recs) > 1:  # a flat folder and two images with the same stem
            names = ", ".join(r.relpath for r in recs)
            for r in recs:
                del matches[r.id]
                report.skipped.append(Skipped(str(path), (
                    f"matches {len(recs)} images ({names}); put masks in subfolders "
                    "mirroring the images' folders so each has its own")))
    used = set(users)
    images = {project.image_path(r).resolve() for r in records}  # beside their masks
    report.unmatched = [str(p) for folder in index.values() for p in folder.values()
                        if p not in used and p.resolve() not in images]
    if not users:
        example = next(iter(next(iter(index.values())).values())).name
        raise SpecimaskError(
            f"{masks_dir}: none of its {sum(len(v) for v in index.values())} mask file(s) "
            f"matches an image of the project by name (e.g. {example}); masks are paired by "
            "the image's file stem, like leaf1.jpg -> leaf1.png or leaf1_mask.png")
    return matches


def _save_one(project: Project, record: ImageRecord, path: Path, masks_dir: Path,
              origin: str, method: str | None, threshold: float | None,
              max_pixels: int) -> str | None:
    """Read ``path`` as ``record``'s mask and save it; why not, when it cannot be used."""
    if path.resolve() == project.image_path(record).resolve():
        return "this is the image itself; give the folder of masks, not of images"
    try:
        mask = _read_import_mask(path, record, project.image_path(record), threshold,
                                 max_pixels)
        name = method or (PurePosixPath(masks_dir.name) /
                          path.relative_to(masks_dir).as_posix()).as_posix()
        project.save_mask(record.id, mask, origin, method=name)
    except SpecimaskError as exc:
        reason = _reason(exc)
        if threshold is None and "distinct values" in reason:
            reason += "; for a grey map (a model's probabilities) give --threshold 0.5"
        return reason
    return None


def _index_masks(masks_dir: Path) -> dict[str, dict[str, Path]]:
    """Mask files by folder (relative, posix) and name (suffix lower-cased).

    The maps ``specimask predict`` writes beside its masks (``probability/``,
    ``uncertainty/``) are left out; point at ``probability/`` with a threshold to use them.
    """
    index: dict[str, dict[str, Path]] = defaultdict(dict)
    for path in list_files(masks_dir):
        rel = path.relative_to(masks_dir)
        if is_image_path(path) and rel.parts[0] not in PREDICTION_MAP_DIRS:
            index[rel.parent.as_posix()][rel.stem + rel.suffix.lower()] = path
    return dict(index)


def _match(index: dict[str, dict[str, Path]], masks_dir: Path, relpath: str,
           image_path: Path | None = None) -> Path | None:
    """Most specific folder first: ``imgs/sub``, then ``sub``, then the masks folder itself.

    The image's own file (``image_path``, when the images sit among their masks) is passed
    over so ``leaf1_mask.png`` beside ``leaf1.jpg`` is found; it is returned only if nothing
    else matches, for the caller to say that this is the folder of images.
    """
    parts = [p for p in PurePosixPath(relpath).parts if p not in ("..", ".")]
    stem = PurePosixPath(relpath).stem
    folders = [PurePosixPath(*parts[k:-1]).as_posix() for k in range(len(parts) - 1)] + ["."]
    image = image_path.resolve() if image_path is not None else None
    itself = None
    for folder in dict.fromkeys(folders):
        names = index.get(folder)
        if not names:
            continue
        for tag in MASK_SUFFIXES:
            for suffix in sorted(IMAGE_SUFFIXES):
                found = names.get(f"{stem}{tag}{suffix}")
                if found is None:
                    continue
                if image is not None and found.resolve() == image:
                    itself = itself or found
                    continue
                return found
    return itself


def _read_import_mask(path: Path, record: ImageRecord, image_path: Path,
                      threshold: float | None, max_pixels: int) -> np.ndarray:
    shape = (record.height, record.width)
    if threshold is None:
        return read_mask(path, shape, image_path, max_pixels)
    arr = read_pixels(path, max_pixels)
    # The value range comes from the file's type: averaging channels below makes floats.
    top = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(np.dtype(arr.dtype))
    if top is None and np.issubdtype(arr.dtype, np.integer):
        top = float(np.iinfo(arr.dtype).max)
    if arr.ndim == 3:
        if arr.shape[2] in (2, 4):
            colour, alpha = arr[..., :-1], arr[..., -1]
            flat = (colour == colour.flat[0]).all()
            arr = alpha if flat and alpha.min() != alpha.max() else colour
        arr = arr.mean(axis=2) if arr.ndim == 3 else arr
    if len(np.unique(arr)) <= 2:  # a two-valued mask means what it says, 0/1 included
        return read_mask(path, shape, image_path, max_pixels)
    mask = np.asarray(arr, np.float64) >= threshold * (top or 1.0)
    if mask.shape != shape:
        raise ImageReadError(path, f"mask is {mask.shape[1]} x {mask.shape[0]} px but the "
                             f"size of image {image_path} is {shape[1]} x {shape[0]} px; "
                             "masks are never resized silently")
    return mask


# -- shared ----------------------------------------------------------------------------


def has_verified(project: Project, record: ImageRecord) -> bool:
    return project.mask_path(record.id) is not None


def kept_reason(record: ImageRecord) -> str:
    return (f"{record.relpath} already has a verified mask; kept it (use --overwrite to "
            "replace it, or --as coldstart to import this one as a proposal)")


def _reason(exc: SpecimaskError) -> str:
    return exc.reason if isinstance(exc, ImageReadError) else str(exc)
