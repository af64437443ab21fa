"""What opening a project tidies after a killed process, said in one line.

A kill can leave: temp files of a write that never finished, the one mask file of a save
killed between rename and commit (``store.masks``), and a model version still marked
``training`` whose process is gone, with its temp weights. Each check is cheap (a glob of
the staging folder, one ``stat``, one query), so every open runs them; anything another
live process may still be using (fresh temp files, trainings on other hosts or of live
processes) is left alone.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..io.atomic import TMP_MARK, remove_stale_temps
from .masks import LEGACY_DIRS, STAGING_DIR, orphan_mask
from .processes import gone, this_host

TEMP_FOLDERS = (STAGING_DIR, *LEGACY_DIRS, "proposals")


def recover(project) -> str | None:
    """Tidy what a killed process left; returns what was done, or None if nothing was."""
    done = []
    temps = sum(remove_stale_temps(project.root / f) for f in TEMP_FOLDERS)
    if orphan_mask(project) is not None:
        with project.store.transaction():  # no save can be between rename and commit now
            orphan = orphan_mask(project)
            if orphan is not None:
                orphan.unlink(missing_ok=True)
                done.append(f"removed {orphan.relative_to(project.root)}, the unrecorded "
                            "file of a save that was killed before it committed")
    for version, pid, freed, n in _end_dead_trainings(project):
        temps += n
        done.append(f"marked {version} failed (its training process {pid} is gone)"
                    + (f", freed {freed / 1e6:.0f} MB of its temp weights" if freed else ""))
    if temps:
        done.append(f"removed {temps} temp file(s) of unfinished writes")
    return "; ".join(done) or None


def _end_dead_trainings(project):
    """Versions this host was training in processes that no longer exist."""
    host = this_host()
    rows = project.store.read(
        "SELECT version, path, pid FROM models WHERE status = 'training' AND host = ?",
        (host,))
    for row in rows:
        if not gone(host, row["pid"]):
            continue
        error = (f"training process {row['pid']} on {host} ended without finishing "
                 "(killed, or the machine stopped)")
        with project.store.transaction() as conn:
            changed = conn.execute(
                "UPDATE models SET status = 'failed', metrics = ? WHERE version = ?"
                " AND status = 'training'", (json.dumps({"error": error}), row["version"]))
        if changed.rowcount:
            freed, n = _remove_temps(project.root / row["path"])
            yield row["version"], row["pid"], freed, n


def _remove_temps(folder: Path) -> tuple[int, int]:
    freed = n = 0
    for p in folder.glob(f"{TMP_MARK}*") if folder.is_dir() else ():
        try:
            size = p.stat().st_size
            p.unlink()
        except OSError:
            continue
        freed, n = freed + size, n + 1
    return freed, n
