"""Leases: which annotator is working on which image, so two never get the same one.

An annotator (a napari window, a ``specimask annotate`` run) takes a lease on the image it
shows and renews it while it stays there, and gives it back by taking the next one; the
next image offered to anyone else skips it.
A lease expires (10 minutes unless renewed), so a crashed window or a killed process frees
its image without anyone cleaning up; one whose process is gone from this host is over at
once. Leases only steer people apart; what guarantees that
no save is lost is the conflict check at save time (``store.masks.SaveConflict``).
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass

from .db import now
from .processes import gone, this_host

LEASE_SECONDS = 600.0


@dataclass(frozen=True)
class Lease:
    image_id: int
    holder: str
    author: str | None
    host: str | None
    pid: int | None
    taken_at: str
    expires_at: float

    def in_force(self, t: float) -> bool:
        return self.expires_at > t and not gone(self.host, self.pid)

    def describe(self) -> str:
        until = time.strftime("%H:%M", time.localtime(self.expires_at))
        return f"{self.author or 'another annotator'} is annotating it (lease until {until})"


def new_holder(author: str) -> str:
    """A name for one annotating session, unique across windows, processes and hosts."""
    return f"{author}@{this_host()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def take_lease(project, image_id: int, holder: str, author: str | None,
               seconds: float = LEASE_SECONDS) -> Lease | None:
    """Take (or renew) the lease on an image. Returns None when it is yours now, else the
    lease someone else holds (and you do not get it). A holder is on one image at a
    time: taking this one gives back the image it left, to others and to new proposals."""
    t = time.time()
    with project.store.transaction() as conn:
        row = conn.execute("SELECT * FROM leases WHERE image_id = ?", (image_id,)).fetchone()
        held = Lease(**dict(row)) if row is not None else None
        if held is not None and held.holder != holder and held.in_force(t):
            return held
        conn.execute("DELETE FROM leases WHERE holder = ? AND image_id != ?",
                     (holder, image_id))
        conn.execute("INSERT OR REPLACE INTO leases (image_id, holder, author, host, pid,"
                     " taken_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (image_id, holder, author, this_host(), os.getpid(), now(), t + seconds))
    return None


def release_all(project, holder: str) -> None:
    """What a closing window or a finished run does; a crash leaves it to the expiry."""
    with project.store.transaction() as conn:
        conn.execute("DELETE FROM leases WHERE holder = ?", (holder,))


def leased_by_others(project, holder: str) -> dict[int, Lease]:
    t = time.time()
    rows = project.store.read("SELECT * FROM leases WHERE holder != ? AND expires_at > ?",
                              (holder, t))
    leases = (Lease(**dict(r)) for r in rows)
    return {lease.image_id: lease for lease in leases if lease.in_force(t)}
