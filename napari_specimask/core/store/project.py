"""A project folder: settings, database, saved masks and proposals, movable as a zip.

Images are referenced by path relative to the project folder (large collections are not
copied). Masks are PNG 0/255 at the image's original size; each save is a new file that
its annotation row points at (``store.masks``). Proposals are named by image id.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from ..errors import ProjectError
from ..faults import crash_point
from ..io.atomic import atomic_write_with
from ..io.images import read_image, read_mask, save_mask_png
from ..settings import SETTINGS_FILE, Settings, load_settings, save_settings
from ..vocabulary import MaskKind
from . import masks as saved
from .db import DB_FILE, Store, now
from .drafts import drafts_left
from .filesystem import network_filesystem
from .records import ImageRecord, ImageRef
from .recovery import recover
from .schema import ORIGINS, ROLES, STATUSES

PROPOSALS_DIR = "proposals"  # what a queued image was shown with (model or cold start)
MODELS_DIR = "models"  # one folder per model version (core.model.weights)
CACHE_DIR = "cache"  # predictions cached per model version (core.inference.cache)
log = logging.getLogger("napari_specimask")


class Project:
    """Open with ``Project.open(folder)`` or make one with ``Project.create(folder)``."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        if not (self.root / SETTINGS_FILE).is_file():
            raise ProjectError(
                f"{self.root}: not a specimask project (no {SETTINGS_FILE}); "
                "create one with `specimask init`"
            )
        self.settings = load_settings(self.root)
        self.store = Store(self.root / DB_FILE)
        self.recovered = recover(self)  # what a killed process left, tidied (or None)
        if self.recovered:
            log.warning("%s: %s", self.root, self.recovered)
        remote = network_filesystem(self.root)
        if remote:
            log.warning("%s is on a network file system (%s): SQLite's locking is not safe "
                        "across machines there; let one machine at a time work on this "
                        "project (docs/project.md)", self.root, remote)

    @classmethod
    def open(cls, root: str | Path) -> Project:
        return cls(root)

    @classmethod
    def create(cls, root: str | Path, settings: Settings | None = None) -> Project:
        root = Path(root)
        if (root / SETTINGS_FILE).exists() or (root / DB_FILE).exists():
            raise ProjectError(f"{root}: a project already exists here; open it instead")
        root.mkdir(parents=True, exist_ok=True)
        for folder in (saved.ANNOTATIONS_DIR, PROPOSALS_DIR, MODELS_DIR):
            (root / folder).mkdir(exist_ok=True)
        Store(root / DB_FILE, create=True).close()
        settings = settings or Settings(name=root.resolve().name)
        save_settings(root, settings)
        return cls(root)

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Project:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def save_settings(self) -> None:
        save_settings(self.root, self.settings)

    # -- images ------------------------------------------------------------------------

    def images(self, role: str | None = None, status: str | None = None) -> list[ImageRecord]:
        sql, params = self._where(role, status)
        rows = self.store.read(f"SELECT {_FIELDS} FROM images{sql} ORDER BY id", params)
        return [ImageRecord.from_row(r) for r in rows]

    def image_ids(self, role: str | None = None, status: str | None = None) -> list[int]:
        """Ids only: what selection over a pool of millions needs, without the records."""
        sql, params = self._where(role, status)
        return self.store.column(f"SELECT id FROM images{sql} ORDER BY id", params)

    def first_image_id(self) -> int | None:
        """The oldest image, without reading the others (what a new window shows)."""
        return self.store.read_one("SELECT MIN(id) FROM images")[0]

    def images_by_id(self, ids: list[int]) -> list[ImageRecord]:
        """Records of the given ids, in that order."""
        found: dict[int, ImageRecord] = {}
        for start in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            chunk = ids[start : start + 900]
            marks = ",".join("?" * len(chunk))
            for r in self.store.read(f"SELECT {_FIELDS} FROM images WHERE id IN ({marks})",
                                     tuple(chunk)):
                found[r[0]] = ImageRecord.from_row(r)
        return [found[i] for i in ids if i in found]

    def _where(self, role: str | None, status: str | None) -> tuple[str, tuple]:
        clauses, params = [], []
        if role is not None:
            clauses.append("role = ?")
            params.append(_check(role, ROLES, "role"))
        if status is not None:
            clauses.append("status = ?")
            params.append(_check(status, STATUSES, "status"))
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(params)

    def known_images(self) -> dict[str, str]:
        """sha256 -> relpath of every image: what an import checks new files against."""
        return {r[0]: r[1] for r in self.store.read("SELECT sha256, relpath FROM images")}

    def image_id_of(self, sha256: str) -> int:
        row = self.store.read_one("SELECT id FROM images WHERE sha256 = ?", (sha256,))
        if row is None:
            raise ProjectError(f"{self.root}: no image with sha256 {sha256}")
        return row[0]

    def add_image(self, relpath: str, sha256: str, height: int, width: int, nbytes: int,
                  role: str, mask: np.ndarray | None = None, **mask_fields) -> int:
        """Record a new, unlabeled image; returns its id. With ``mask`` (and its annotation
        fields, ``origin`` first) the image and its mask go in together or not at all."""
        if mask is not None:
            mask = saved.check_mask_shape(mask, (height, width), relpath)
        with saved.saving(self, mask) as (conn, put):
            cur = conn.execute(
                "INSERT INTO images (relpath, sha256, height, width, bytes, role, status,"
                " added_at) VALUES (?, ?, ?, ?, ?, ?, 'unlabeled', ?)",
                (relpath, sha256, height, width, nbytes, role, now()))
            crash_point("image.added")
            if mask is not None:
                put(cur.lastrowid, {**mask_fields, "foreground_fraction": float(mask.mean())})
            crash_point("image.before_commit")
        return cur.lastrowid

    def image(self, image_id: int) -> ImageRecord:
        row = self.store.read_one(f"SELECT {_FIELDS} FROM images WHERE id = ?", (image_id,))
        if row is None:
            raise ProjectError(f"{self.root}: no image with id {image_id}")
        return ImageRecord.from_row(row)

    @property
    def uid(self) -> str:
        return self.store.project_uid

    def image_ref(self, record: ImageRecord | int) -> ImageRef:
        """The reference a save of this image names (``save_mask(..., image=ref)``)."""
        record = record if isinstance(record, ImageRecord) else self.image(record)
        return ImageRef(self.uid, self.root, record.id, record.sha256, record.relpath)

    def image_path(self, record: ImageRecord) -> Path:
        return self.root / record.relpath

    def read_image(self, record: ImageRecord) -> np.ndarray:
        return read_image(self.image_path(record), self.settings.images.max_pixels)

    def relpath_for(self, path: str | Path) -> str:
        return Path(os.path.relpath(Path(path).resolve(), self.root)).as_posix()

    def set_status(self, image_ids: list[int], status: str) -> None:
        _check(status, STATUSES, "status")
        with self.store.transaction() as conn:
            conn.executemany("UPDATE images SET status = ? WHERE id = ?",
                             [(status, i) for i in image_ids])

    def set_role(self, image_ids: list[int], role: str) -> None:
        _check(role, ROLES, "role")
        with self.store.transaction() as conn:
            conn.executemany("UPDATE images SET role = ? WHERE id = ?",
                             [(role, i) for i in image_ids])

    # -- masks -------------------------------------------------------------------------

    def proposal_file(self, image_id: int) -> Path:
        """What a queued image is shown with (not an annotation): rewritten by selection
        and retraining, so named by image id."""
        return self.root / PROPOSALS_DIR / f"{image_id}.png"

    def write_proposal(self, image_id: int, mask: np.ndarray | None) -> None:
        """Show a queued image ``mask`` from now on (written whole or not at all); None
        removes the old one, which must not be shown."""
        path = self.proposal_file(image_id)
        if mask is None:
            path.unlink(missing_ok=True)
        else:
            atomic_write_with(path, lambda tmp: save_mask_png(tmp, mask))

    def mask_path(self, image_id: int, kind: str = MaskKind.VERIFIED) -> Path | None:
        """The current verified or cold-start mask file (its latest row), or None."""
        return saved.mask_path(self, image_id, kind)

    def mask_paths(self, kind: str = MaskKind.VERIFIED) -> dict[int, Path]:
        """Image id -> current mask file, for all images at once."""
        return saved.current_mask_paths(self, kind)

    def save_mask(
        self,
        image_id: int,
        mask: np.ndarray,
        origin: str,
        *,
        method: str | None = None,
        edited_fraction: float | None = None,
        seconds: float | None = None,
        model_version: str | None = None,
        iteration: int | None = None,
        author: str | None = None,
        proposal_dice: float | None = None,
        pixels_added: int | None = None,
        pixels_removed: int | None = None,
        expect=saved.ANY,
        image: ImageRef | None = None,
    ) -> int:
        """Write a mask and its annotation record as one fact; returns the annotation id.

        ``author`` defaults to ``store.masks.default_author()``. ``expect``: the verified
        annotation id the person started from (None for none); a later save by anyone
        raises ``SaveConflict`` instead of being replaced. ``image``: the image the mask
        was made on; a save into another project, or onto another image under this id,
        raises ``WrongImage`` and writes nothing.
        """
        _check(origin, ORIGINS, "origin")
        if image is not None:  # before the size check: another project's image differs
            saved.check_image(self, image)
        record = self.image(image_id)
        mask = saved.check_mask_shape(mask, (record.height, record.width), record.relpath)
        fields = {"origin": origin, "method": method, "foreground_fraction": float(mask.mean()),
                  "edited_fraction": edited_fraction, "seconds": seconds,
                  "model_version": model_version, "iteration": iteration,
                  "proposal_dice": proposal_dice, "pixels_added": pixels_added,
                  "pixels_removed": pixels_removed}
        if author is not None:
            fields["author"] = author
        return saved.save_mask(self, image_id, mask, fields, expect, image)

    def load_mask(self, image_id: int, kind: str = MaskKind.VERIFIED) -> np.ndarray | None:
        """The verified, cold-start or proposal mask (``MaskKind``), or None."""
        path = (self.proposal_file(image_id) if kind == MaskKind.PROPOSAL
                else self.mask_path(image_id, kind))
        if path is None or (kind == MaskKind.PROPOSAL and not path.exists()):
            return None
        record = self.image(image_id)
        return read_mask(path, (record.height, record.width), self.image_path(record))

    def annotations(self, image_id: int | None = None) -> list[dict]:
        sql = "SELECT * FROM annotations" + (" WHERE image_id = ?" if image_id else "")
        rows = self.store.read(sql + " ORDER BY id", (image_id,) if image_id else ())
        return [dict(r) for r in rows]

    # -- summary -----------------------------------------------------------------------

    def summary(self) -> dict:
        """What ``specimask status --json`` prints."""
        by_status, by_role = dict.fromkeys(STATUSES, 0), dict.fromkeys(ROLES, 0)
        for role, status, n in self.store.read(  # one pass over the (role, status) index
                "SELECT role, status, COUNT(*) FROM images GROUP BY role, status"):
            by_role[role] += n
            by_status[status] += n
        origins = {r[0]: r[1] for r in self.store.read(
            "SELECT origin, COUNT(DISTINCT image_id) FROM annotations GROUP BY origin")}
        iteration = self.store.read_one("SELECT COALESCE(MAX(id), 0) FROM iterations")[0]
        active = self.store.read_one("SELECT version FROM models WHERE active = 1")
        return {
            "project": str(self.root),
            "name": self.settings.name,
            "images": sum(by_role.values()),
            "by_status": by_status,
            "by_role": by_role,
            "masks_by_origin": {o: origins.get(o, 0) for o in ORIGINS},
            "iteration": iteration,
            "active_model": active[0] if active else None,
            "unsaved_drafts": [dict(zip(("image", "author", "staged_at"), row))
                               for row in drafts_left(self)],
            "schema_version": self.store.schema_version,
        }


_FIELDS = ", ".join(ImageRecord.__dataclass_fields__)


def _check(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ProjectError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")
    return value
