"""Bring a folder of images (and optionally masks) into a project, skipping bad files.

An import never stops at the first bad file: each one it cannot use is listed with the
reason, and everything else goes in. Images are decoded once in full, so truncated files
are caught here rather than in the middle of training.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ImageReadError, SpecimaskError
from ..io.files import MASK_SUFFIXES, Skipped, find_mask, list_files  # noqa: F401 (re-used by callers)
from ..io.hashing import sha256_file
from ..io.images import IMAGE_SUFFIXES, is_image_path, read_error, read_image, read_mask
from ..progress import Job, Progress, stopped
from ..store.db import ROLES
from ..store.project import Project


@dataclass
class ImportReport:
    added: list[int] = field(default_factory=list)
    masks: int = 0
    skipped: list[Skipped] = field(default_factory=list)
    stopped: bool = False


def import_images(
    project: Project,
    images_dir: str | Path,
    masks_dir: str | Path | None = None,
    role: str = "pool",
    stop: threading.Event | None = None,
) -> Job[ImportReport]:
    """Add every usable image under ``images_dir``; yields Progress, returns ImportReport."""
    return import_files(project, list_files(images_dir), Path(images_dir), masks_dir, role, stop)


def import_files(
    project: Project,
    files: list[Path],
    base_dir: Path,
    masks_dir: str | Path | None = None,
    role: str = "pool",
    stop: threading.Event | None = None,
) -> Job[ImportReport]:
    """Add the given image files (under ``base_dir``, for pairing masks by relative path)."""
    if role not in ROLES:
        raise SpecimaskError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    masks_dir = Path(masks_dir) if masks_dir is not None else None
    if masks_dir is not None and not masks_dir.is_dir():
        raise SpecimaskError(f"{masks_dir}: masks folder not found")
    report = ImportReport()
    known = project.known_images()
    max_pixels = project.settings.images.max_pixels
    for i, path in enumerate(files):
        if stopped(stop):
            report.stopped = True
            break
        yield Progress(i, len(files), path.name)
        try:
            image_id = _add_one(project, path, role, known, max_pixels)
        except SpecimaskError as exc:
            report.skipped.append(Skipped(str(path), _reason(exc)))
            continue
        report.added.append(image_id)
        if masks_dir is None:
            continue
        mask_path = find_mask(masks_dir, path.relative_to(base_dir))
        if mask_path is None:
            continue
        try:
            record = project.image(image_id)
            mask = read_mask(mask_path, (record.height, record.width), path, max_pixels)
            project.save_mask(image_id, mask, "imported", method=str(mask_path.name))
            report.masks += 1
        except SpecimaskError as exc:
            report.skipped.append(Skipped(str(mask_path), f"mask not imported: {_reason(exc)}"))
    yield Progress(len(files), len(files), "done")
    return report


def _add_one(project: Project, path: Path, role: str, known: dict, max_pixels: int) -> int:
    if not is_image_path(path):
        raise ImageReadError(path, f"unsupported file type {path.suffix or '(no extension)'!r}; "
                             f"images must be one of {', '.join(sorted(IMAGE_SUFFIXES))}")
    try:
        digest = sha256_file(path)
    except OSError as exc:
        raise read_error(path, exc) from None
    if digest in known:
        raise ImageReadError(path, f"duplicate of {known[digest]} (same content, sha256)")
    relpath = project.relpath_for(path)
    if relpath in known.values():
        raise ImageReadError(path, "already in the project with other content; the file "
                             "changed since it was added (rename it to add it as new)")
    img = read_image(path, max_pixels)  # full decode: catches truncated files now
    image_id = project.add_image(relpath, digest, img.shape[0], img.shape[1],
                                 path.stat().st_size, role)
    known[digest] = relpath
    return image_id


def _reason(exc: SpecimaskError) -> str:
    return exc.reason if isinstance(exc, ImageReadError) else str(exc)
