"""Folders of images and masks: listing them, pairing a mask with its image, and the
"skipped, with why" record every folder job reports instead of stopping."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import SpecimaskError
from .images import IMAGE_SUFFIXES
from .tiff import TIFF_SUFFIXES, tiff_pages

MASK_SUFFIXES = ("", "_mask", "-mask", ".mask")


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def list_files(folder: str | Path, skipped: list[Skipped] | None = None) -> list[Path]:
    """All files under ``folder`` (recursively), hidden ones left out, in stable order.

    Linked folders are followed, except a link back to a folder it is in (a loop). What
    the walk cannot reach (an unreadable folder, a loop, a broken link) goes into
    ``skipped``, when given, so that no file is left out without a word.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise SpecimaskError(f"{folder}: not a folder")
    found: list[Path] = []
    _walk(folder, (os.path.realpath(folder),), found, [] if skipped is None else skipped)
    return sorted(found)


def _walk(folder: Path, inside: tuple[str, ...], found: list[Path],
          skipped: list[Skipped]) -> None:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        skipped.append(Skipped(str(folder), f"folder not read, its files are left out: "
                                            f"{_walk_reason(exc)}"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        try:
            is_dir, is_file = entry.is_dir(), entry.is_file()  # both follow links
        except OSError:  # a link loop: said by _odd_entry
            is_dir = is_file = False
        if is_dir:
            real = os.path.realpath(path)
            if real in inside:
                skipped.append(Skipped(str(path), f"symbolic link loop: it points back to "
                                                  f"{real}, a folder it is in; not followed"))
            else:
                _walk(path, (*inside, real), found, skipped)
        elif is_file:
            found.append(path)
        else:
            skipped.append(Skipped(str(path), _odd_entry(path)))


def _walk_reason(exc: OSError) -> str:
    if isinstance(exc, PermissionError):
        return "permission denied; make it readable (chmod a+rx) or run as its owner"
    return exc.strerror or str(exc)


def _odd_entry(path: Path) -> str:
    """Why an entry that is neither a file nor a folder is left out."""
    if not path.is_symlink():
        return "not a regular file (a pipe, socket or device); left out"
    target = os.readlink(path)
    try:
        path.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"symbolic link loop: it points to {target}, which leads back to itself"
        if isinstance(exc, FileNotFoundError):
            return f"broken symbolic link: its target {target} does not exist"
        return f"symbolic link to {target} not followed: {_walk_reason(exc)}"
    return f"symbolic link to {target}: not a regular file; left out"


def page_notes(paths: list[Path]) -> list[Skipped]:
    """A note for each multi-page TIFF among ``paths`` (headers only): its first page is
    the image, the others are ignored."""
    notes = []
    for path in paths:
        n = tiff_pages(path) if path.suffix.lower() in TIFF_SUFFIXES else 1
        if n > 1:
            notes.append(Skipped(str(path), f"{n - 1} more page(s) of this TIFF ignored; "
                                            "the first page is used"))
    return notes


def find_mask(masks_dir: Path, rel: Path) -> Path | None:
    """The mask for image ``rel`` (relative to its folder): same relative stem, any image
    suffix, optionally with a ``_mask`` tag (``leaf1.jpg`` -> ``leaf1.png``, ``leaf1_mask.png``);
    a flat masks folder also serves images in subfolders."""
    for folder in dict.fromkeys((masks_dir / rel.parent, masks_dir)):
        for tag in MASK_SUFFIXES:
            for suffix in sorted(IMAGE_SUFFIXES):
                candidate = folder / f"{rel.stem}{tag}{suffix}"
                if candidate.is_file():
                    return candidate
    return None
