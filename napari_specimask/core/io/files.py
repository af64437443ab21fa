"""Folders of images and masks: listing them, pairing a mask with its image, and the
"skipped, with why" record every folder job reports instead of stopping."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import SpecimaskError
from .images import IMAGE_SUFFIXES

MASK_SUFFIXES = ("", "_mask", "-mask", ".mask")


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def list_files(folder: str | Path) -> list[Path]:
    """All files under ``folder`` (recursively), hidden ones left out, in stable order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SpecimaskError(f"{folder}: not a folder")
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


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
