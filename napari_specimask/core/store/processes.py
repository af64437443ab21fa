"""Is the process that wrote a row still running? (Trainings and leases record theirs.)"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def this_host() -> str:
    return socket.gethostname()


def gone(host: str | None, pid: int | None) -> bool:
    """True only when sure: a process of this host that no longer exists. A process on
    another host cannot be asked, so it is never called gone."""
    return host == this_host() and pid is not None and not _alive(pid)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    try:  # a killed child its parent has not reaped yet is a zombie: gone all the same
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True
