"""Bring a folder of images (and optionally masks) into a project, skipping bad files.

An import never stops at the first bad file: each one it cannot use is listed with the
reason, and everything else goes in. Each image is checked to decode to its end, so
truncated files are caught here rather than in the middle of training, without a full
decode where the format allows (``io.validate``: JPEGs at 1/8 scale, PNG data inflated
but not unfiltered; 0.06 s instead of 0.6 s for a 54 MP sheet). An image and its mask go
in together (one transaction), so an import killed at any point is finished by re-running
it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ImageReadError, SpecimaskError
from ..io.files import MASK_SUFFIXES, Skipped, find_mask, list_files, page_notes  # noqa: F401 (re-used by callers)
from ..io.hashing import sha256_file
from ..io.images import IMAGE_SUFFIXES, is_image_path, read_error, read_mask
from ..io.validate import check_image
from ..progress import Job, Progress, stopped, then
from ..store.project import Project
from ..store.schema import ROLES


@dataclass
class ImportReport:
    added: list[int] = field(default_factory=list)
    masks: int = 0
    completed: int = 0  # of ``masks``: given to images already here without one
    skipped: list[Skipped] = field(default_factory=list)
    stopped: bool = False


def import_images(
    project: Project,
    images_dir: str | Path,
    masks_dir: str | Path | None = None,
    role: str = "pool",
    stop: threading.Event | None = None,
) -> Job[ImportReport]:
    """Add every usable image under ``images_dir``; yields Progress, returns ImportReport.

    Its ``skipped`` also lists what the folder walk could not reach (unreadable folders,
    link loops) and each imported TIFF whose pages after the first were ignored.
    """
    walked: list[Skipped] = []
    files = list_files(images_dir, walked)

    def add_notes(report: ImportReport) -> None:
        added = {project.image(i).relpath for i in report.added}
        report.skipped[:0] = walked
        report.skipped += page_notes([f for f in files if project.relpath_for(f) in added])

    job = import_files(project, files, Path(images_dir), masks_dir, role, stop)
    return then(job, add_notes)


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
    known = _Known(project.known_images())
    for i, path in enumerate(files):
        if stopped(stop):
            report.stopped = True
            break
        yield Progress(i, len(files), path.name)
        mask_path = find_mask(masks_dir, path.relative_to(base_dir)) if masks_dir else None
        try:
            _import_one(project, path, mask_path, role, known, report)
        except SpecimaskError as exc:
            report.skipped.append(Skipped(str(path), _reason(exc)))
    yield Progress(len(files), len(files), "done")
    return report


def _import_one(project: Project, path: Path, mask_path: Path | None, role: str,
                known: _Known, report: ImportReport) -> None:
    """One image, with its mask in the same transaction; a re-run after a kill finds each
    image either absent or complete, and gives a mask to an image an older version of
    this import added without it."""
    if not is_image_path(path):
        raise ImageReadError(path, f"unsupported file type {path.suffix or '(no extension)'!r}; "
                             f"images must be one of {', '.join(sorted(IMAGE_SUFFIXES))}")
    try:
        digest = sha256_file(path)
    except OSError as exc:
        raise read_error(path, exc) from None
    relpath = project.relpath_for(path)
    if digest in known.paths:
        if known.paths[digest] == relpath and mask_path is not None:
            record = project.image(project.image_id_of(digest))
            if project.mask_path(record.id) is None:
                mask = _read_pair(project, mask_path, (record.height, record.width), path,
                                  report)
                if mask is not None:
                    project.save_mask(record.id, mask, "imported", method=mask_path.name)
                    report.masks += 1
                    report.completed += 1
                return
        raise ImageReadError(path, f"duplicate of {known.paths[digest]} (same content, "
                                   "sha256)")
    if relpath in known.relpaths:
        raise ImageReadError(path, "already in the project with other content; the file "
                             "changed since it was added (rename it to add it as new)")
    # decoded to the end (truncated files are refused now), at full size only if need be
    shape = check_image(path, project.settings.images.max_pixels)
    mask = _read_pair(project, mask_path, shape, path, report) if mask_path else None
    image_id = project.add_image(relpath, digest, shape[0], shape[1], path.stat().st_size,
                                 role, mask=mask, origin="imported",
                                 method=mask_path.name if mask is not None else None)
    known.add(digest, relpath)
    report.added.append(image_id)
    report.masks += mask is not None


@dataclass
class _Known:
    """The project's images as an import checks new files against them."""

    paths: dict[str, str]  # sha256 -> relpath
    relpaths: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.relpaths = set(self.paths.values())

    def add(self, digest: str, relpath: str) -> None:
        self.paths[digest] = relpath
        self.relpaths.add(relpath)


def _read_pair(project: Project, mask_path: Path, shape: tuple[int, int], image: Path,
               report: ImportReport):
    """The image's mask, or None with the reason in the report (the image still goes in)."""
    try:
        return read_mask(mask_path, shape, image, project.settings.images.max_pixels)
    except SpecimaskError as exc:
        report.skipped.append(Skipped(str(mask_path), f"mask not imported: {_reason(exc)}"))
        return None


def _reason(exc: SpecimaskError) -> str:
    return exc.reason if isinstance(exc, ImageReadError) else str(exc)
