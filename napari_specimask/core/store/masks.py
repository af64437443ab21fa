"""Saved masks: write-once files, with the annotation row as the one switch that makes a
mask current.

A save stages the PNG in ``.staging/``, then inside one write transaction inserts the
annotation row, renames the file to ``annotations/<annotation id>.png`` (a name no other
save ever uses, so nothing is overwritten) and commits. Killed at any instant, the project
holds the old current mask or the new one, each with its record: before the rename only a
temp file exists; between the rename and the commit the row rolls back and the file is an
orphan. Writers take turns on the write lock, so that orphan can only be
``annotations/<max id + 1>.png``: recovery finds it with one ``stat`` (and the next save,
which gets that id, replaces it). Readers follow an image's latest row, never a fixed name;
older rows keep their files, so every saved mask stays with its record.

Projects made before this scheme keep their ``masks/<image id>.png`` and
``pseudo/<image id>.png`` files; their rows point there and are read the same way.
"""

from __future__ import annotations

import contextlib
import getpass
import os
from datetime import datetime
from pathlib import Path

import numpy as np

from ..errors import ProjectError, SpecimaskError
from ..faults import crash_point
from ..io.atomic import publish, stage_file
from ..io.images import save_mask_png
from ..vocabulary import COLD_START, VERIFIED_ORIGINS, MaskKind
from .db import now

ANNOTATIONS_DIR = "annotations"
STAGING_DIR = ".staging"
KINDS = {MaskKind.VERIFIED: VERIFIED_ORIGINS, MaskKind.COLD_START: (COLD_START,)}
ANY = object()  # ``expect=ANY``: save whatever was saved meanwhile (no conflict check)
# (verified, cold start): where projects made before schema 5 keep their mask files
LEGACY_DIRS = ("masks", "pseudo")
AUTHOR_ENV = "SPECIMASK_AUTHOR"


class WrongImage(SpecimaskError):
    """A mask named an image of another project (or one no longer under this id)."""

    def __init__(self, project, ref, found: str | None):
        where = (f"this project ({project.root}) has another image under id {ref.image_id}"
                 f" ({found})" if ref.project_uid == project.uid else
                 f"it is not saved into {project.root}, another project")
        super().__init__(f"{ref.relpath} (image {ref.image_id}) was painted in the project "
                         f"at {ref.project_root}; {where}. Nothing was written: open "
                         f"{ref.project_root} to save it there")


def check_image(project, ref, conn=None) -> None:
    """The mask was made on this project's image ``ref`` (checked again inside the
    save's transaction, ``conn``, where no other writer can change the answer)."""
    sql = "SELECT sha256, relpath FROM images WHERE id = ?"
    row = (conn.execute(sql, (ref.image_id,)).fetchone() if conn is not None
           else project.store.read_one(sql, (ref.image_id,)))
    if ref.project_uid != project.uid or row is None or row[0] != ref.sha256:
        raise WrongImage(project, ref, row[1] if row is not None else "none")


class SaveConflict(SpecimaskError):
    """Someone saved this image's mask after you opened it; yours was not saved."""

    def __init__(self, relpath: str, latest: dict):
        self.latest = latest
        who = latest.get("author") or "another annotator"
        when = datetime.fromisoformat(latest["created_at"]).astimezone()
        super().__init__(f"{relpath}: {who} saved a mask for this image at "
                         f"{when:%Y-%m-%d %H:%M}, after you opened it; theirs is kept")


def default_author() -> str:
    """Who a save is recorded as: $SPECIMASK_AUTHOR, else the operating-system user."""
    try:
        return os.environ.get(AUTHOR_ENV) or getpass.getuser()
    except (KeyError, OSError):  # no user name for this uid (some containers)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def latest_annotation(project, image_id: int, kind: str = MaskKind.VERIFIED) -> dict | None:
    """The row that makes this image's verified (or cold-start) mask current."""
    origins = KINDS[kind]
    row = project.store.read_one(
        f"SELECT * FROM annotations WHERE image_id = ? AND origin IN ({_marks(origins)})"
        " ORDER BY id DESC LIMIT 1", (image_id, *origins))
    return dict(row) if row is not None else None


def latest_annotation_id(project, image_id: int) -> int | None:
    """The id of the image's current verified annotation: what a person started from, and
    what the conflict check compares with at save time (None: no verified mask yet)."""
    row = latest_annotation(project, image_id)
    return row["id"] if row is not None else None


def latest_annotations(project, origins: tuple[str, ...]) -> dict[int, dict]:
    """Image id -> its latest annotation row of one of ``origins``: what is current."""
    rows = project.store.read(
        "SELECT a.* FROM annotations a JOIN (SELECT MAX(id) AS last FROM annotations"
        f" WHERE origin IN ({_marks(origins)}) GROUP BY image_id) l ON a.id = l.last",
        tuple(origins))
    return {r["image_id"]: dict(r) for r in rows}


def current_mask_paths(project, kind: str = MaskKind.VERIFIED) -> dict[int, Path]:
    """Image id -> its current mask file, for every image with a mask of this kind."""
    return {i: project.root / row["mask_path"]
            for i, row in latest_annotations(project, KINDS[kind]).items()}


def mask_path(project, image_id: int, kind: str = MaskKind.VERIFIED) -> Path | None:
    row = latest_annotation(project, image_id, kind)
    return project.root / row["mask_path"] if row is not None else None


def stage_mask(project, mask: np.ndarray) -> Path:
    """The mask as a durable temp PNG, ready for ``record_mask`` to publish."""
    for folder in (STAGING_DIR, ANNOTATIONS_DIR):  # projects made before these existed
        (project.root / folder).mkdir(exist_ok=True)
    tmp = stage_file(project.root / ANNOTATIONS_DIR / "new.png",
                     lambda p: save_mask_png(p, mask),
                     staging_dir=project.root / STAGING_DIR)
    crash_point("mask.staged")
    return tmp


def record_mask(project, conn, image_id: int, tmp: Path, fields: dict,
                expect=ANY, image=None) -> tuple[int, Path]:
    """Inside a write transaction: check that ``image`` (an ``ImageRef``, when given) is
    this project's image ``image_id``, check for a conflicting save, insert the row,
    publish the staged file under the row's id, and drop the author's draft of the image
    (the save supersedes it). Returns (annotation id, the published file)."""
    if image is not None:
        check_image(project, image, conn)
    if expect is not ANY and latest_annotation_id(project, image_id) != expect:
        relpath = conn.execute("SELECT relpath FROM images WHERE id = ?",
                               (image_id,)).fetchone()[0]
        raise SaveConflict(relpath, latest_annotation(project, image_id))
    ann_id = conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM annotations").fetchone()[0]
    rel = f"{ANNOTATIONS_DIR}/{ann_id}.png"
    fields = {"author": default_author(), **fields, "created_at": now()}
    names = ", ".join(fields)
    conn.execute(f"INSERT INTO annotations (id, image_id, mask_path, {names}) VALUES"
                 f" (?, ?, ?, {_marks(fields)})", (ann_id, image_id, rel, *fields.values()))
    if fields["origin"] in VERIFIED_ORIGINS:
        conn.execute("UPDATE images SET status = 'labeled' WHERE id = ?", (image_id,))
        conn.execute("DELETE FROM drafts WHERE image_id = ? AND author = ?",
                     (image_id, fields["author"]))
    target = project.root / rel
    publish(tmp, target)
    crash_point("mask.renamed")
    return ann_id, target


@contextlib.contextmanager
def saving(project, mask: np.ndarray | None):
    """``with saving(project, mask) as (conn, put):`` a write transaction in which
    ``put(image_id, fields, expect)`` records the staged ``mask`` and publishes its file.

    If the transaction does not commit, the published file (which then has no row) is
    removed; the temp file goes either way. ``mask=None`` stages nothing (``put`` refuses).
    """
    tmp = stage_mask(project, mask) if mask is not None else None
    published: list[Path] = []
    try:
        with project.store.transaction() as conn:
            def put(image_id: int, fields: dict, expect=ANY, image=None) -> int:
                ann_id, target = record_mask(project, conn, image_id, tmp, fields, expect,
                                             image)
                published.append(target)
                return ann_id

            yield conn, put
    except BaseException:
        for path in published:
            path.unlink(missing_ok=True)
        raise
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def save_mask(project, image_id: int, mask: np.ndarray, fields: dict, expect=ANY,
              image=None) -> int:
    """Write a mask and its annotation record as one fact; returns the annotation id.

    ``expect`` is the id of the verified annotation the person started from (None: there
    was none); if another save came since, ``SaveConflict`` is raised and nothing is saved.
    ``image`` (an ``ImageRef``) names the image the mask was made on: see ``WrongImage``.
    """
    with saving(project, mask) as (_conn, put):
        ann_id = put(image_id, fields, expect, image)
        crash_point("mask.before_commit")
    crash_point("mask.after_commit")
    return ann_id


def check_mask_shape(mask: np.ndarray, shape: tuple[int, int], relpath: str) -> np.ndarray:
    """The mask as booleans, if it is the image's size (height, width)."""
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != tuple(shape):
        raise ProjectError(
            f"mask for {relpath} is {mask.shape[1]} x {mask.shape[0]} px, the image "
            f"is {shape[1]} x {shape[0]} px")
    return mask


def orphan_mask(project) -> Path | None:
    """The one file a save killed between rename and commit can have left, if any."""
    nxt = project.store.read_one("SELECT COALESCE(MAX(id), 0) + 1 FROM annotations")[0]
    path = project.root / ANNOTATIONS_DIR / f"{nxt}.png"
    return path if path.exists() else None


def _marks(values) -> str:
    return ",".join("?" * len(values))
