"""File digests: the one place a file is hashed (image import, downloads, model weights).

Whole-file digests go through ``hashlib.file_digest`` where Python has it (3.11+: it
reads with a preallocated buffer and releases the GIL). A download's check reports
progress and can be stopped, so it reads in chunks feeding every asked-for algorithm at
once. Those digests are remembered for this process, keyed by path, size and mtime, so a file
verified once (a multi-GB archive) is not read again unless it changed.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable
from pathlib import Path

from ..progress import Job, Progress, stopped

CHUNK = 1 << 20
_KNOWN: dict[tuple[str, int, int], dict[str, str]] = {}
_KNOWN_LOCK = threading.Lock()


def sha256_file(path: str | Path) -> str:
    """The sha256 (hex) of a file, read afresh (a weights check must see a changed file
    even if its mtime was kept); OSError (missing, unreadable) reaches the caller."""
    with open(path, "rb") as fh:
        if hasattr(hashlib, "file_digest"):
            digest = hashlib.file_digest(fh, "sha256").hexdigest()
        else:  # Python 3.10
            h = hashlib.sha256()
            while block := fh.read(CHUNK):
                h.update(block)
            digest = h.hexdigest()
    return digest


def file_digests(path: str | Path, algos: Iterable[str] = ("sha256",),
                 stop: threading.Event | None = None) -> Job[dict[str, str] | None]:
    """Digests of ``path`` in one pass; yields Progress(bytes), returns {algo: hex}, or None
    when stopped."""
    path = Path(path)
    algos = tuple(algos) or ("sha256",)
    cached = known_digests(path)
    if cached and all(a in cached for a in algos):
        return {a: cached[a] for a in algos}
    hashers = {a: hashlib.new(a) for a in algos}
    total, done = path.stat().st_size, 0
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            for h in hashers.values():
                h.update(block)
            done += len(block)
            yield Progress(done, total, f"verifying {path.name}")
            if stopped(stop):
                return None
    digests = {a: h.hexdigest() for a, h in hashers.items()}
    remember_digests(path, digests)
    return digests


def known_digests(path: str | Path) -> dict[str, str] | None:
    """Digests computed earlier in this process for this exact file (same size and mtime)."""
    try:
        key = _key(Path(path))
    except OSError:
        return None
    with _KNOWN_LOCK:
        return _KNOWN.get(key)


def _key(path: Path) -> tuple[str, int, int]:
    st = path.stat()
    return str(path.resolve()), st.st_size, st.st_mtime_ns


def remember_digests(path: Path, digests: dict[str, str]) -> None:
    """Note digests known for this exact file (a download renamed after its check)."""
    key = _key(path)
    with _KNOWN_LOCK:
        _KNOWN[key] = {**_KNOWN.get(key, {}), **digests}
