"""Unpack zip and tar archives safely and resumably (for the public data sets).

Archives from the web are untrusted: a member named ``../../.bashrc``, an absolute path or
a link could write outside the target folder. Every member's path is checked before
anything is written, links and device files are refused, and each file goes to a
temporary name first, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import stat
import tarfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ..errors import SpecimaskError
from ..progress import Job, Progress, stopped


@dataclass
class ExtractReport:
    files: int = 0
    bytes: int = 0
    skipped: int = 0
    stopped: bool = False


Route = Callable[[PurePosixPath], "PurePosixPath | None"]


def extract_archive(
    archive: str | Path, dest: str | Path, route: Route | None = None,
    stop: threading.Event | None = None,
) -> Job[ExtractReport]:
    """Unpack a zip or tar under ``dest``, refusing any member that would land outside it.

    ``route`` maps a member's relative path to where it goes under ``dest`` (None skips
    it). Members already there with the right size are skipped, and each file is written
    to a temporary name first, so an interrupted run resumes where it stopped. Links and
    device files are refused: a link can point anywhere.
    """
    archive, dest = Path(archive), Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    report = ExtractReport()
    if zipfile.is_zipfile(archive):
        members = _zip_members(archive, dest)
    elif tarfile.is_tarfile(archive):
        members = _tar_members(archive, dest)
    else:
        raise SpecimaskError(f"{archive}: not a zip or tar archive; pass the archive as "
                             "downloaded (zip, tar, tar.gz)")
    root = dest.resolve()
    try:
        for name, size, position, total, opener in members:
            if stopped(stop):
                report.stopped = True
                break
            rel = _safe_member(archive, name, dest)
            routed = route(rel) if route and rel is not None else rel
            if routed is None:
                continue
            target = dest / routed
            if not _inside(target, root):
                raise SpecimaskError(f"{archive}: refusing member {name!r}: it would be "
                                     f"written outside {dest} (through a link); remove it")
            yield Progress(position, total, routed.name)
            if target.is_file() and target.stat().st_size == size:
                report.skipped += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            with opener() as src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            os.replace(tmp, target)
            report.files += 1
            report.bytes += size
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error,
            gzip.BadGzipFile) as exc:
        raise SpecimaskError(f"{archive}: damaged or truncated archive ({exc}); delete it and "
                             "run the command again to get a fresh copy") from None
    finally:
        members.close()
    return report


MemberIter = Iterator[tuple[str, int, int, int, Callable]]


def _zip_members(archive: Path, dest: Path) -> MemberIter:
    with zipfile.ZipFile(archive) as zf:
        infos = zf.infolist()
        for info in infos:  # check every name before writing anything
            _safe_member(archive, info.filename, dest)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise SpecimaskError(f"{archive}: refusing member {info.filename!r}: it is a "
                                     "link, which could point outside the folder")
        files = [i for i in infos if not i.is_dir()]
        total = sum(i.file_size for i in files)
        done = 0
        for info in files:
            yield info.filename, info.file_size, done, total, lambda i=info: zf.open(i)
            done += info.file_size


def _tar_members(archive: Path, dest: Path) -> MemberIter:
    total = archive.stat().st_size
    with open(archive, "rb") as raw, tarfile.open(fileobj=raw, mode="r:*") as tf:
        for member in tf:
            if member.isdir():
                _safe_member(archive, member.name, dest)
                continue
            if not member.isfile():
                kind = "link" if member.issym() or member.islnk() else "special file"
                raise SpecimaskError(f"{archive}: refusing member {member.name!r}: it is a "
                                     f"{kind}, which could point outside the folder")
            yield (member.name, member.size, raw.tell(), total,
                   lambda m=member: tf.extractfile(m))


def _safe_member(archive: Path, name: str, dest: Path) -> PurePosixPath | None:
    """The member's relative path, None for OS clutter, or an error for unsafe paths."""
    clean = name.replace("\\", "/")
    parts = [p for p in clean.split("/") if p not in ("", ".")]
    if clean.startswith("/") or re.match(r"^[A-Za-z]:", clean) or ".." in parts:
        raise SpecimaskError(f"{archive}: refusing member {name!r}: its path leaves {dest} "
                             "(an unsafe archive); nothing outside was written")
    if not parts or "__MACOSX" in parts or parts[-1].startswith("._") \
            or parts[-1] == ".DS_Store":
        return None
    return PurePosixPath(*parts)


def _inside(path: Path, root: Path) -> bool:
    resolved = path.resolve()
    return resolved == root or root in resolved.parents
