"""What the public data set downloads share: the run report, ``MANIFEST.json`` (what was
fetched, with its sha256, so a re-run verifies instead of fetching and works offline), the
figshare file listing and small file helpers. The data sets themselves are in ``ferns`` and
``halfearth``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..errors import SpecimaskError
from ..io.atomic import atomic_path
from ..io.download import fetch_json
from ..progress import Job, Progress, map_progress

DATASETS = ("ferns", "halfearth")

FIGSHARE_API = "https://api.figshare.com/v2"
FIGSHARE_API_ENV = "SPECIMASK_FIGSHARE_API"  # tests point these at 127.0.0.1
FIGSHARE_DOWNLOAD = "https://smithsonian.figshare.com/ndownloader"
FIGSHARE_DOWNLOAD_ENV = "SPECIMASK_FIGSHARE_DOWNLOAD"

MANIFEST = "MANIFEST.json"
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


@dataclass
class DatasetReport:
    """What a download run did, for the CLI summary and for tests."""

    name: str
    root: Path
    files: int = 0  # files downloaded or extracted by this run
    bytes: int = 0  # bytes downloaded or extracted by this run
    skipped: int = 0  # files already there and verified
    masks: int = 0  # cleaned masks written by this run
    images: int | None = None  # images in the data set
    categories: int | None = None
    metadata: Path | None = None
    problems: list[str] = field(default_factory=list)
    stopped: bool = False


@dataclass(frozen=True)
class RemoteFile:
    name: str
    url: str
    size: int | None = None
    md5: str | None = None


def figshare_files(article: int | str) -> list[RemoteFile]:
    """Files of a public figshare article (API v2), following its pages."""
    api = os.environ.get(FIGSHARE_API_ENV, FIGSHARE_API).rstrip("/")
    files: list[RemoteFile] = []
    page, per_page = 1, 100
    while True:
        url = f"{api}/articles/{article}/files?page={page}&page_size={per_page}"
        listing = fetch_json(url, "or copy a finished download folder from a connected machine")
        if not isinstance(listing, list):
            raise SpecimaskError(f"{url}: expected a list of files, got {type(listing).__name__}")
        for item in listing:
            if item.get("is_link_only") or not item.get("download_url"):
                continue
            files.append(RemoteFile(
                name=safe_name(item["name"], url),
                url=item["download_url"],
                size=item.get("size"),
                md5=item.get("computed_md5") or item.get("supplied_md5") or None,
            ))
        if len(listing) < per_page:
            break
        page += 1
    if not files:
        raise SpecimaskError(f"{api}/articles/{article}: the article lists no downloadable "
                             "files; check the article id")
    return files


def stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def visible_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def safe_name(name: str, where: str) -> str:
    base = PurePosixPath(str(name).replace("\\", "/")).name
    if base in ("", ".", ".."):
        raise SpecimaskError(f"{where}: a listed file has an unusable name {name!r}")
    return base


def load_manifest(base: Path) -> dict:
    try:
        data = json.loads((base / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_manifest(base: Path, manifest: dict) -> None:
    with atomic_path(base / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def manifest_files(base: Path, manifest: dict, article) -> list[RemoteFile]:
    """Offline re-run: the files a finished run recorded, if all of them are still here."""
    if manifest.get("article") != article:
        return []
    entries = manifest.get("files", {})
    files = [RemoteFile(e["name"], e["url"], e.get("size"), e.get("md5"))
             for rel, e in entries.items() if (base / rel).is_file()]
    return files if files and len(files) == len(entries) else []


def prefixed_progress(job: Job, prefix: str) -> Job:
    """A part's reports with ``prefix`` on each message (which file, which step)."""
    return map_progress(job, lambda p: Progress(p.done, p.total, prefix + p.message))
