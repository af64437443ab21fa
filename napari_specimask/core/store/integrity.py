"""Does a project hold together? The database, and every record against its file.

What ``specimask check`` prints and what the crash tests assert after each kill: SQLite's
own integrity check, every annotation row's file present and of its image's size, every
``labeled`` image with a verified mask and every verified mask on a ``labeled`` image,
and no mask file that no row points at (in ``annotations/``, or the ``masks/`` and
``pseudo/`` of older projects, where such a file is a save the old scheme lost track of);
temp files of writes in progress are not masks and are left to recovery. Files are opened
for their header only (no decode), so a check of a large project reads little.
"""

from __future__ import annotations

from PIL import Image

from ..io.atomic import TMP_MARK
from ..vocabulary import MaskKind, Status
from .masks import ANNOTATIONS_DIR, KINDS, LEGACY_DIRS, latest_annotations


def check_project(project) -> list[str]:
    """Problems found, one line each (an empty list: file and record agree everywhere)."""
    problems = [f"database: {r[0]}" for r in project.store.read("PRAGMA integrity_check")
                if r[0] != "ok"]
    problems += [f"database: row {r[1]} of {r[0]} points at a missing {r[2]} row"
                 for r in project.store.read("PRAGMA foreign_key_check")]
    sizes = {r[0]: (r[1], r[2], r[3]) for r in project.store.read(
        "SELECT id, width, height, relpath FROM images")}
    referenced = set()
    for row in project.store.read("SELECT id, image_id, mask_path FROM annotations"):
        referenced.add(row["mask_path"])
        problem = _file_problem(project.root / row["mask_path"], sizes.get(row["image_id"]))
        if problem:
            problems.append(f"annotation {row['id']} ({row['mask_path']}): {problem}")
    verified = latest_annotations(project, KINDS[MaskKind.VERIFIED])
    statuses = {r[0]: r[1] for r in project.store.read("SELECT id, status FROM images")}
    for image_id, status in statuses.items():
        relpath = sizes[image_id][2]
        if status == Status.LABELED and image_id not in verified:
            problems.append(f"{relpath}: labeled, but no verified mask is recorded")
        elif image_id in verified and status in (Status.UNLABELED, Status.QUEUED):
            problems.append(f"{relpath}: has a verified mask but is still {status}")
    for name in (ANNOTATIONS_DIR, *LEGACY_DIRS):
        folder = project.root / name
        for path in sorted(folder.glob("*.png")) if folder.is_dir() else ():
            if f"{name}/{path.name}" not in referenced and not path.name.startswith(TMP_MARK):
                problems.append(f"{name}/{path.name}: a mask file no record points at")
    return problems


def _file_problem(path, size) -> str | None:
    if not path.is_file():
        return "file missing"
    try:
        with Image.open(path) as im:
            found = im.size
    except (OSError, ValueError) as exc:
        return f"unreadable ({exc})"
    if size is not None and found != size[:2]:
        return f"{found[0]} x {found[1]} px, its image is {size[0]} x {size[1]} px"
    return None
