"""Resumable HTTP downloads with checksums, using only the standard library.

Data sets are gigabytes fetched over flaky links, so a download writes ``NAME.part``, picks
up where it stopped with an HTTP ``Range`` request, checks sha256/md5 before the file takes
its real name, and turns every network failure into a one-line ``SpecimaskError`` that
names the URL and says what to do (a traceback helps nobody on a field laptop).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import ssl
import threading
import urllib.error
import urllib.request
from pathlib import Path

from ... import __version__
from ..errors import SpecimaskError
from ..progress import Job, Progress, stopped
from .hashing import file_digests, remember_digests

CHUNK = 1 << 20
TIMEOUT = float(os.environ.get("SPECIMASK_DOWNLOAD_TIMEOUT", "60"))
USER_AGENT = f"napari-specimask/{__version__} (+urllib)"

class DownloadError(SpecimaskError):
    """A download that failed; the message names the URL and the fix."""


def part_path(target: Path) -> Path:
    return target.with_suffix(target.suffix + ".part")


def download_file(
    url: str,
    target: str | Path,
    sha256: str | None = None,
    md5: str | None = None,
    stop: threading.Event | None = None,
    *,
    size: int | None = None,
    offline_hint: str | None = None,
) -> Job[Path | None]:
    """Fetch ``url`` to ``target``; yields Progress(bytes), returns the path (None if stopped).

    An existing ``target`` whose checksums (or, without any, its ``size``) match is kept
    without a request. A ``.part`` left by an earlier run is resumed with ``Range``; a
    server that answers 200 instead of 206, or 206 from another start than asked for (or
    without saying where), makes it start over (the latter once, without ``Range``),
    whether or not a checksum would catch it. A checksum mismatch deletes
    the ``.part`` and raises with both digests. Stopping keeps the ``.part`` for next time.
    """
    target = Path(target)
    if target.is_file():
        ok = yield from _verify_existing(target, sha256, md5, size, stop)
        if ok is None:
            return None
        if ok:
            return target
        target.unlink()  # a damaged or outdated copy: fetch it again
    target.parent.mkdir(parents=True, exist_ok=True)
    part = part_path(target)
    hint = offline_hint or f"or download it on a connected machine and copy it to {target}"
    whole = yield from _fetch_part(url, part, target.name, size, hint, stop)
    if not whole:
        return None
    return (yield from _publish(url, part, target, sha256, md5, size, stop))


def fetch_json(url: str, offline_hint: str | None = None):
    """GET ``url`` and parse JSON, with the same one-line errors as ``download_file``."""
    hint = offline_hint or "or run it on a connected machine"
    with _open(url, {"Accept": "application/json"}, hint) as response:
        try:
            raw = response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise DownloadError(
                f"{url}: connection dropped ({_reason(exc)}); run the command again, {hint}"
            ) from None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DownloadError(
            f"{url}: the answer is not JSON ({exc.msg if hasattr(exc, 'msg') else exc}); "
            "check the address (a proxy or captive portal may be answering instead)"
        ) from None


def _fetch_part(
    url: str, part: Path, name: str, size: int | None, hint: str,
    stop: threading.Event | None,
) -> Job[bool]:
    """Bring ``part`` to the whole file, resuming it where it can; False when stopped."""
    restarted = False
    while True:
        have = part.stat().st_size if part.is_file() else 0
        if size is not None and have > size:
            part.unlink()
            have = 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            response = _open(url, headers, hint)
        except _RangeNotSatisfiable as exc:
            if exc.total is not None and exc.total != have:
                part.unlink()  # longer than the file now published: start over
                continue
            return True  # the .part is already whole: check it as it is
        with response:
            status = getattr(response, "status", 200)
            start = _range_start(response) if status == 206 else have
            if start != have and (have or start is not None):
                # Part of the file, but not from where the .part ends (or not saying where):
                # neither appending nor writing it as the start would give the file.
                if restarted or not have:
                    raise DownloadError(
                        f"{url}: the server sent a part of the file other than the one asked "
                        f"for (Content-Range {response.headers.get('Content-Range')!r}); "
                        f"run the same command again later, {hint}"
                    )
                restarted = True
                part.unlink(missing_ok=True)  # start over, without Range
                continue
            # A server that ignored Range (200) sends the whole file: start over.
            got = yield from _stream(url, response, part, name, have if status == 206 else 0,
                                     size, hint, stop)
        if got is None:
            return False
        done, total = got
        if total and done < total:
            raise DownloadError(
                f"{url}: connection closed after {_mb(done)} of {_mb(total)}; run the same "
                f"command again to resume from {part.name}, {hint}"
            )
        return True


def _stream(
    url: str, response, part: Path, name: str, done: int, size: int | None, hint: str,
    stop: threading.Event | None,
) -> Job[tuple[int, int] | None]:
    """Write the body to ``part`` after its first ``done`` bytes; (done, total), None if stopped."""
    length = response.headers.get("Content-Length")
    total = done + int(length) if length and length.isdigit() else (size or 0)
    shown = total or -1  # for messages: 0 means "not announced"
    yield Progress(done, total, _bytes_message(name, done, total))
    with open(part, "ab" if done else "wb") as fh:
        while True:
            try:
                block = response.read(CHUNK)
            except (OSError, http.client.HTTPException) as exc:
                raise DownloadError(
                    f"{url}: connection dropped after {_mb(done)} of {_mb(shown)} "
                    f"({_reason(exc)}); run the same command again to resume from "
                    f"{part.name}, {hint}"
                ) from None
            if not block:
                return done, total
            fh.write(block)  # disk full or read-only: an OSError the CLI reports
            done += len(block)
            yield Progress(done, total, _bytes_message(name, done, total))
            if stopped(stop):
                return None


def _publish(
    url: str, part: Path, target: Path, sha256: str | None, md5: str | None,
    size: int | None, stop: threading.Event | None,
) -> Job[Path | None]:
    """Check the finished ``part`` and give it its real name; a bad one is deleted."""
    digests = yield from file_digests(part, _algos(sha256, md5), stop)
    if digests is None:
        return None
    bad = _mismatches(digests, sha256, md5)
    if bad:
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{url}: checksum mismatch ({bad}); the partial file was deleted, run the command "
            "again to download it afresh (if it keeps failing the published file changed)"
        )
    if size is not None and part.stat().st_size != size and not (sha256 or md5):
        got = part.stat().st_size
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{url}: expected {size} bytes, got {got}; the partial file was deleted, run the "
            "command again"
        )
    os.replace(part, target)
    remember_digests(target, digests)
    return target


# -- internals -------------------------------------------------------------------------


class _RangeNotSatisfiable(Exception):
    def __init__(self, total: int | None):
        self.total = total


def _open(url: str, headers: dict[str, str], hint: str):
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT)  # noqa: S310 (http/https only)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code == 416 and "Range" in headers:
            m = re.match(r"bytes\s+\*/(\d+)", exc.headers.get("Content-Range", "") or "")
            raise _RangeNotSatisfiable(int(m.group(1)) if m else None) from None
        raise DownloadError(f"{url}: {_http_reason(exc.code, exc.reason)}") from None
    except urllib.error.URLError as exc:
        raise DownloadError(f"{url}: {_reason(exc.reason)}; {_network_fix(hint)}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise DownloadError(f"{url}: {_reason(exc)}; {_network_fix(hint)}") from None
    except ValueError as exc:  # "unknown url type": a typo, not the network
        raise DownloadError(f"{url}: not a usable http(s) address ({exc}); check it") from None


def _network_fix(hint: str) -> str:
    return f"check the network connection and run the same command again, {hint}"


def _http_reason(code: int, reason: str) -> str:
    what = f"HTTP {code} {reason}".strip()
    if code == 404:
        return f"{what}: the file is not there; check the address (or the article id)"
    if code in (401, 403):
        return f"{what}: access refused; check that the data set is public and the address"
    if code == 429 or code >= 500:
        return f"{what}: the server is busy or failing; run the same command again later"
    return f"{what}; check the address"


def _reason(exc: BaseException | str) -> str:
    """A short human reason for a network failure (never a traceback)."""
    if isinstance(exc, str):
        return exc
    if isinstance(exc, socket.gaierror):
        return "no network: the host name cannot be resolved"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing is listening there)"
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return f"no answer within {TIMEOUT:g} s (network down or very slow)"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(exc, ssl.SSLError):
        return f"secure connection failed ({exc.reason or exc})"
    if isinstance(exc, http.client.IncompleteRead):
        return "the server sent less than it announced"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return " ".join(str(exc).split()) or type(exc).__name__


def _range_start(response) -> int | None:
    m = re.match(r"bytes\s+(\d+)-", response.headers.get("Content-Range", ""))
    return int(m.group(1)) if m else None


def _algos(sha256: str | None, md5: str | None) -> tuple[str, ...]:
    return tuple(a for a, want in (("sha256", sha256), ("md5", md5)) if want) or ("sha256",)


def _mismatches(digests: dict[str, str], sha256: str | None, md5: str | None) -> str:
    bad = []
    for algo, want in (("sha256", sha256), ("md5", md5)):
        if want and digests.get(algo, "").lower() != want.lower():
            bad.append(f"{algo} expected {want.lower()}, got {digests.get(algo)}")
    return "; ".join(bad)


def _verify_existing(
    target: Path, sha256: str | None, md5: str | None, size: int | None,
    stop: threading.Event | None,
) -> Job[bool | None]:
    """True when ``target`` is the wanted file, False when it must be fetched again."""
    have = target.stat().st_size
    if size is not None and have != size:
        return False
    if not (sha256 or md5):
        # Only a finished download is renamed into place, so a file there is whole.
        yield Progress(have, have, f"{target.name} already downloaded")
        return True
    digests = yield from file_digests(target, _algos(sha256, md5), stop)
    if digests is None:
        return None
    return not _mismatches(digests, sha256, md5)


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 0 else "an unknown size"


def _bytes_message(name: str, done: int, total: int) -> str:
    return f"{name} {_mb(done)} / {_mb(total)}" if total else f"{name} {_mb(done)}"
