"""Is the project on a network file system? SQLite's locking is not safe across machines
there, so opening such a project says so (see docs/project.md, several annotators)."""

from __future__ import annotations

from pathlib import Path

NETWORK_TYPES = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "afs", "ceph", "glusterfs",
                 "lustre", "gpfs", "beegfs")
MOUNTS = Path("/proc/mounts")


def network_filesystem(path: str | Path, mounts: str | None = None) -> str | None:
    """The file-system type holding ``path`` if it is a network or FUSE mount, else None.

    Reads /proc/mounts (Linux); elsewhere, or if it cannot be read, says None.
    """
    if mounts is None:
        try:
            mounts = MOUNTS.read_text()
        except OSError:
            return None
    target = Path(path).resolve().as_posix()
    best, kind = "", None
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) > len(best):
            best, kind = point, fields[2]
    if kind and (kind in NETWORK_TYPES or kind.startswith("fuse.") or kind == "fuse"):
        return kind
    return None
