"""Crash points: where the crash tests kill this process, to prove a kill there loses nothing.

``SPECIMASK_KILL_AT=mask.renamed`` makes the process SIGKILL itself the first time it
reaches ``crash_point("mask.renamed")``; ``mask.renamed:3`` the third time. Nothing runs
after the kill (no ``finally``, no rollback, no atexit), exactly as with ``kill -9`` or a
power cut at that instant. Unset, a point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

KILL_AT = "SPECIMASK_KILL_AT"
_hits: dict[str, int] = {}


def crash_point(name: str) -> None:
    wanted = os.environ.get(KILL_AT)
    if not wanted or wanted.split(":")[0] != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    nth = int(wanted.split(":")[1]) if ":" in wanted else 1
    if _hits[name] >= nth:
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
