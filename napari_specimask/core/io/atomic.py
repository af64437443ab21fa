"""Atomic file writes: a crash or kill leaves either the old file or the new one, never half."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path

TMP_MARK = ".specimask-tmp-"


def stage_file(target: str | Path, writer: Callable[[Path], None], *,
               staging_dir: Path | None = None) -> Path:
    """Write a durable temp file for ``target`` with ``writer``; ``publish`` it later.

    Splitting the two lets a caller rename inside a database transaction, so the file and
    its record change together. The temp file lives in the target's folder, or in
    ``staging_dir``, which must be on the target's filesystem: only there is the rename
    atomic (POSIX), elsewhere ``publish`` fails with EXDEV.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = target.parent if staging_dir is None else Path(staging_dir)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = _create_temp(folder, target.suffix)
    try:
        writer(tmp)
        _fsync_file(tmp)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        if exc.filename is None:  # a failed write() (disk full) names no file: name ours
            raise OSError(exc.errno, exc.strerror or str(exc), str(target)) from exc
        raise
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _create_temp(folder: Path, suffix: str) -> Path:
    """Create an empty, uniquely named temp file whose mode follows the umask.

    ``tempfile.mkstemp`` makes 0600 files, so every published mask, model and export
    came out unreadable to the group; 0o666 lets the kernel apply the umask instead.
    """
    for _ in range(100):
        tmp = folder / f"{TMP_MARK}{secrets.token_hex(6)}{suffix}"
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temp file name", str(folder))


def publish(tmp: Path, target: str | Path) -> None:
    """Atomically move a staged temp file over ``target``."""
    os.replace(tmp, target)
    _fsync_dir(Path(target).parent)


def atomic_write_with(target: str | Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` and publish its output atomically at ``target``."""
    tmp = stage_file(target, writer)
    try:
        publish(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """``with atomic_path(t) as tmp: write(tmp)``; published at ``t`` on clean exit only."""
    tmp = stage_file(target, lambda _: None)  # reserve a temp name beside the target
    try:
        yield tmp
        _fsync_file(tmp)
        publish(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    atomic_write_with(target, lambda tmp: tmp.write_bytes(data))


def remove_stale_temps(folder: str | Path, older_than: float = 300.0) -> int:
    """Delete temp files left by a killed writer; returns how many were removed.

    Only files older than ``older_than`` seconds go: another process (the GUI while the
    CLI opens the same project) may be writing a fresh one right now.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    n = 0
    cutoff = time.time() - older_than
    for p in folder.glob(f"{TMP_MARK}*"):
        with contextlib.suppress(OSError):
            if p.stat().st_mtime < cutoff:
                p.unlink()
                n += 1
    return n


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable across power loss (no-op where unsupported).
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
