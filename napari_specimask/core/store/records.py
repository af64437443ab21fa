"""What the store hands out about an image: its record, and the reference a save names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..vocabulary import Role, Status


@dataclass(frozen=True)
class ImageRecord:
    id: int
    relpath: str
    sha256: str
    height: int
    width: int
    bytes: int
    role: Role
    status: Status

    @classmethod
    def from_row(cls, row) -> ImageRecord:
        """From the columns of ``images`` (``project._FIELDS``), role and status typed."""
        *head, role, status = row
        return cls(*head, Role(role), Status(status))

    @property
    def name(self) -> str:
        return Path(self.relpath).stem


@dataclass(frozen=True)
class ImageRef:
    """Which image of which project a mask was made on: what a save names, so that a
    window that has since switched projects cannot file it elsewhere (image ids start
    at 1 in every project). The save checks both in its transaction (``store.masks``)."""

    project_uid: str
    project_root: Path
    image_id: int
    sha256: str
    relpath: str
