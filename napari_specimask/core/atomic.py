"""Atomic file writes: a crash or kill leaves either the old file or the new one, never half."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

TMP_MARK = ".specimask-tmp-"


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temp path beside ``target``; on clean exit fsync it and rename over ``target``.

    The temp file lives in the same folder so ``os.replace`` is a same-filesystem rename,
    which POSIX guarantees atomic. On error the temp file is removed and target is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_MARK, suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        publish(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def stage_file(target: str | Path, writer: Callable[[Path], None]) -> Path:
    """Write a durable temp file beside ``target`` with ``writer``; ``publish`` it later.

    Splitting the two lets a caller rename inside a database transaction, so the file and
    its record change together.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TMP_MARK, suffix=target.suffix, dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        writer(tmp_path)
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return tmp_path


def publish(tmp: Path, target: str | Path) -> None:
    """Atomically move a staged temp file over ``target``."""
    os.replace(tmp, target)
    _fsync_dir(Path(target).parent)


def atomic_write_bytes(target: str | Path, data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def atomic_write_with(target: str | Path, writer: Callable[[Path], None]) -> None:
    """Call ``writer(tmp_path)`` and publish its output atomically at ``target``."""
    with atomic_path(target) as tmp:
        writer(tmp)


def remove_stale_temps(folder: str | Path) -> int:
    """Delete temp files left by a killed writer; returns how many were removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    n = 0
    for p in folder.glob(f"{TMP_MARK}*"):
        with contextlib.suppress(OSError):
            p.unlink()
            n += 1
    return n


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable across power loss (no-op where unsupported).
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
