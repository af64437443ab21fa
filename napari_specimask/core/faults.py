"""Crash points: where the crash tests kill (or pause) this process, to prove that what
happens there loses nothing.

``SPECIMASK_KILL_AT=mask.renamed`` makes the process SIGKILL itself the first time it
reaches ``crash_point("mask.renamed")``; ``mask.renamed:3`` the third time. Nothing runs
after the kill (no ``finally``, no rollback, no atexit), exactly as with ``kill -9`` or a
power cut at that instant.

``SPECIMASK_PAUSE_AT`` (same form) makes the process stop itself there with SIGSTOP
instead: a test then acts from outside at a known moment (a SIGKILL, a Ctrl-C to the
whole process group) and sends SIGCONT, rather than guessing with sleeps how far a run
has got (which a fast run outpaces). Unset, a point costs two dictionary lookups.
"""

from __future__ import annotations

import os
import signal

KILL_AT = "SPECIMASK_KILL_AT"
PAUSE_AT = "SPECIMASK_PAUSE_AT"
_hits: dict[str, int] = {}


def _reached(variable: str, name: str) -> bool:
    """Whether this is the time ``$variable`` names for point ``name``."""
    wanted = os.environ.get(variable)
    if not wanted or wanted.split(":")[0] != name:
        return False
    key = f"{variable}:{name}"
    _hits[key] = _hits.get(key, 0) + 1
    nth = int(wanted.split(":")[1]) if ":" in wanted else 1
    return _hits[key] == nth if variable == PAUSE_AT else _hits[key] >= nth


def crash_point(name: str) -> None:
    if _reached(KILL_AT, name):
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
    if _reached(PAUSE_AT, name) and hasattr(signal, "SIGSTOP"):
        os.kill(os.getpid(), signal.SIGSTOP)  # returns once SIGCONT arrives
