"""Drafts: the canvas's unsaved edits, kept so that a killed napari costs seconds, not an image.

While a person paints, the window stages what is on the canvas every few seconds and at
each pause (``stage_draft``, in a worker). A draft is one row per (image, author) in the
database, the mask's bytes in the row, so it is written whole or not at all. A save of
that image by that author drops it in the save's own transaction (``store.masks``); so
does discarding the edits. What is left when the image is opened again is what a kill,
a crash or a power cut took away from the canvas: Annotate offers it back.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from PIL import Image

from ..io.png import encode_png
from .db import now
from .masks import check_image


@dataclass(frozen=True)
class Draft:
    image_id: int
    author: str
    base_annotation: int | None   # the verified annotation the edits started from
    pixels_changed: int           # against what the image was shown with
    saved_at: str
    png: bytes

    def mask(self) -> np.ndarray:
        return np.asarray(Image.open(io.BytesIO(self.png)).convert("1"), dtype=bool)

    @property
    def when(self) -> str:
        """Local time of the last staging, for a person (``14:03:12``)."""
        return f"{datetime.fromisoformat(self.saved_at).astimezone():%H:%M:%S}"


def stage_draft(project, ref, author: str, mask: np.ndarray, base: int | None,
                pixels_changed: int) -> None:
    """Keep (replace) ``author``'s draft of image ``ref`` (an ``ImageRef``, checked like a
    save: a draft of another project's image is refused)."""
    png = encode_png(np.asarray(mask, dtype=bool))  # before the write lock is taken
    with project.store.transaction() as conn:
        check_image(project, ref, conn)
        conn.execute("INSERT OR REPLACE INTO drafts (image_id, author, base_annotation, png,"
                     " pixels_changed, saved_at) VALUES (?, ?, ?, ?, ?, ?)",
                     (ref.image_id, author, base, png, int(pixels_changed), now()))


def find_draft(project, image_id: int, author: str) -> Draft | None:
    row = project.store.read_one("SELECT image_id, author, base_annotation, pixels_changed,"
                                 " saved_at, png FROM drafts WHERE image_id = ? AND"
                                 " author = ?", (image_id, author))
    return Draft(*row) if row is not None else None


def drop_draft(project, image_id: int, author: str) -> None:
    """The person discarded these edits (or restored and then saved them)."""
    with project.store.transaction() as conn:
        conn.execute("DELETE FROM drafts WHERE image_id = ? AND author = ?",
                     (image_id, author))


def drafts_left(project) -> list[tuple[str, str, str]]:
    """(image relpath, author, staged at) of every draft: unsaved work ``specimask
    status`` names, so a person knows which images to open again."""
    return [tuple(r) for r in project.store.read(
        "SELECT i.relpath, d.author, d.saved_at FROM drafts d JOIN images i ON"
        " i.id = d.image_id ORDER BY d.saved_at")]
