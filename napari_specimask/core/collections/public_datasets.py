"""Public herbarium data sets, fetched and laid out so ``specimask init`` can use them as is.

* ``ferns``: the Smithsonian fern sheets with hand-made masks of White et al. (2020),
  *Applications in Plant Sciences* 8(6): e11352, doi:10.1002/aps3.11352, published on
  Smithsonian figshare. The masks were saved as JPEG, so they carry grey edges and
  compression noise; they are cleaned as the authors' pipeline does (pixel > 50 is
  specimen, then a 5 x 5 median) and written as 0/255 PNG.
* ``halfearth``: Herbarium 2021 - Half-Earth Challenge (FGVC8, Kaggle). It is far too big
  to fetch casually and needs a Kaggle account, so it comes from an archive you already
  have (``--archive``) or through the Kaggle API when that is set up.

Every step can be re-run: downloads resume, finished files are verified against the
sha256 recorded in ``MANIFEST.json``, extraction skips members already on disk and cleaned
masks are not redone.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from ..errors import SpecimaskError
from ..io.archives import extract_archive
from ..io.atomic import atomic_path
from ..io.download import DownloadError, download_file, fetch_json
from ..io.hashing import file_digests, known_digests
from ..io.images import is_image_path, read_image, write_mask_png
from ..progress import Job, Progress, map_progress, stopped

DATASETS = ("ferns", "halfearth")

FIGSHARE_API = "https://api.figshare.com/v2"
FIGSHARE_API_ENV = "SPECIMASK_FIGSHARE_API"  # tests point these at 127.0.0.1
FIGSHARE_DOWNLOAD = "https://smithsonian.figshare.com/ndownloader"
FIGSHARE_DOWNLOAD_ENV = "SPECIMASK_FIGSHARE_DOWNLOAD"

# The three public files of White et al. (2020) on Smithsonian figshare: the original
# high-resolution sheets, their masks (JPEG) and the specimen metadata. These file ids
# are the ones the authors' published data set serves (and that later re-uses of it, such
# as github.com/barnabywalker/specimen-masking, download). ``--article ID`` lists the files
# of a figshare article through the API v2 instead, with figshare's md5 for each.
FERN_FILES = (
    ("images.tar.gz", 17851235),
    ("masks.tar.gz", 17851277),
    ("metadata.tsv", 21488406),
)
FERN_CITATION = (
    "White AE, Dikow RB, Baugh M, Jenkins A, Frandsen PB (2020). Generating segmentation "
    "masks of herbarium specimens and a data set for training segmentation models using "
    "deep learning. Applications in Plant Sciences 8(6): e11352. doi:10.1002/aps3.11352"
)
MASK_THRESHOLD = 50  # published cleaning: pixel > 50 is specimen ...
MASK_MEDIAN = 5  # ... then a 5 x 5 median removes isolated JPEG noise

KAGGLE_COMPETITION = "herbarium-2021-fgvc8"
KAGGLE_URL = f"https://www.kaggle.com/c/{KAGGLE_COMPETITION}"
METADATA_PARSE_LIMIT = 200_000_000  # bytes; a bigger metadata.json is checked by key scan

MANIFEST = "MANIFEST.json"
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
MASK_TAGS = ("_mask", "-mask", ".mask")


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


# -- ferns -------------------------------------------------------------------------------


def fern_files(article: int | str | None = None) -> list[RemoteFile]:
    """The files to fetch: the published file ids, or every file of figshare ``article``."""
    if article is not None:
        return figshare_files(article)
    base = os.environ.get(FIGSHARE_DOWNLOAD_ENV, FIGSHARE_DOWNLOAD).rstrip("/")
    return [RemoteFile(name, f"{base}/files/{fid}") for name, fid in FERN_FILES]


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
                name=_safe_name(item["name"], url),
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


def download_ferns(
    root: str | Path, article: int | str | None = None, stop: threading.Event | None = None
) -> Job[DatasetReport]:
    """Fetch, verify and unpack the fern data set into ``ROOT/ferns`` and clean its masks.

    Layout: ``downloads/`` (archives, kept so a re-run only verifies), ``images/``,
    ``masks_raw/`` (as published), ``masks/`` (0/255 PNG named by image stem) and
    ``MANIFEST.json`` (url, size, md5 and sha256 of each downloaded file).
    """
    base = Path(root) / "ferns"
    base.mkdir(parents=True, exist_ok=True)
    report = DatasetReport("ferns", base)
    manifest = _load_manifest(base)
    try:
        files = fern_files(article)
    except DownloadError:
        files = _manifest_files(base, manifest, article)
        if not files:
            raise
    manifest["dataset"] = "ferns"
    manifest["citation"] = FERN_CITATION
    manifest["article"] = article
    entries = manifest.setdefault("files", {})
    archives = []
    hint = (f"or download on a connected machine (specimask download ferns --root DIR) and "
            f"copy {base} here")
    for i, remote in enumerate(files, 1):
        is_archive = remote.name.lower().endswith(ARCHIVE_SUFFIXES)
        target = (base / "downloads" / remote.name) if is_archive else base / remote.name
        rel = target.relative_to(base).as_posix()
        entry = entries.get(rel, {})
        known = entry.get("sha256") if entry.get("md5") == remote.md5 else None
        before = _stamp(target)
        path = yield from _prefixed_progress(
            download_file(remote.url, target, sha256=known, md5=remote.md5, stop=stop,
                          size=remote.size, offline_hint=hint),
            f"[{i}/{len(files)}] ",
        )
        if path is None:
            report.stopped = True
            return report
        if before is not None and before == _stamp(path):
            report.skipped += 1
        else:
            report.files += 1
            report.bytes += path.stat().st_size
        digests = known_digests(path) or {}
        if "sha256" not in digests:
            digests = yield from file_digests(path, ("sha256",), stop)
            if digests is None:
                report.stopped = True
                return report
        entries[rel] = {"name": remote.name, "url": remote.url, "size": path.stat().st_size,
                        "md5": remote.md5, "sha256": digests["sha256"]}
        _save_manifest(base, manifest)
        if is_archive:
            archives.append(path)
    for archive in archives:
        ex = yield from _prefixed_progress(extract_archive(archive, base, _fern_route, stop),
                                  f"unpack {archive.name}: ")
        report.files += ex.files
        report.bytes += ex.bytes
        report.skipped += ex.skipped
        if ex.stopped:
            report.stopped = True
            return report
    written = yield from clean_fern_masks(base / "masks_raw", base / "masks", report, stop)
    report.masks = written
    images = base / "images"
    report.images = sum(1 for p in _visible_files(images) if is_image_path(p))
    metadata = sorted(base.glob("*.tsv")) + sorted(base.glob("*.csv"))
    report.metadata = metadata[0] if metadata else None
    return report


def clean_fern_mask(raw: np.ndarray) -> np.ndarray:
    """Published cleaning of a fern mask: ``pixel > 50``, then a 5 x 5 median (bool out).

    The median uses edge replication at the border, as OpenCV's ``medianBlur`` does.
    """
    from scipy.ndimage import median_filter

    grey = np.asarray(raw)
    if grey.dtype == np.uint16:
        grey = grey / 257.0
    if grey.ndim == 3:  # saved as colour: use luminance, as a greyscale read would
        grey = grey[..., :3] @ np.array([0.299, 0.587, 0.114]) if grey.shape[2] >= 3 \
            else grey[..., 0]
    binary = (grey > MASK_THRESHOLD).astype(np.uint8)
    return median_filter(binary, size=MASK_MEDIAN, mode="nearest").astype(bool)


def clean_fern_masks(
    raw_dir: Path, out_dir: Path, report: DatasetReport | None = None,
    stop: threading.Event | None = None,
) -> Job[int]:
    """Clean every raw mask under ``raw_dir`` into ``out_dir/<image stem>.png``.

    The output folder is flat and the ``_mask`` tag is dropped, so ``specimask init
    --masks`` pairs each mask with its image by stem. A mask already cleaned (and newer
    than its raw file) is left alone, so a re-run is quick.
    """
    raws = [p for p in _visible_files(raw_dir) if is_image_path(p)] if raw_dir.is_dir() else []
    seen: dict[str, Path] = {}
    written = 0
    for i, raw in enumerate(raws):
        if stopped(stop):
            if report is not None:
                report.stopped = True
            break
        yield Progress(i, len(raws), f"clean masks: {raw.name}")
        stem = _strip_tag(raw.stem)
        if stem in seen:
            if report is not None:
                report.problems.append(f"{raw}: same image name as {seen[stem]}; not used")
            continue
        seen[stem] = raw
        out = out_dir / f"{stem}.png"
        if out.is_file() and out.stat().st_mtime_ns >= raw.stat().st_mtime_ns:
            continue
        try:
            mask = clean_fern_mask(read_image(raw))
        except SpecimaskError as exc:
            if report is not None:
                report.problems.append(str(exc))
            continue
        out_dir.mkdir(parents=True, exist_ok=True)
        write_mask_png(out, mask)
        written += 1
    yield Progress(len(raws), len(raws), "clean masks: done")
    return written


def _fern_route(rel: PurePosixPath) -> PurePosixPath:
    """Images to ``images/``, masks (any path part naming a mask) to ``masks_raw/``."""
    if not is_image_path(rel.name):
        return PurePosixPath("other", rel)
    if any("mask" in part.lower() for part in rel.parts):
        return PurePosixPath("masks_raw", rel)
    return PurePosixPath("images", rel)


def _strip_tag(stem: str) -> str:
    for tag in MASK_TAGS:
        if stem.lower().endswith(tag) and len(stem) > len(tag):
            return stem[: -len(tag)]
    return stem


# -- halfearth -------------------------------------------------------------------------------


def download_halfearth(
    root: str | Path, archive: str | Path | None = None, stop: threading.Event | None = None
) -> Job[DatasetReport]:
    """Unpack Herbarium 2021 (Half-Earth, FGVC8) into ``ROOT/halfearth`` and check it.

    From ``archive`` (a zip or tar you have) when given, else through the Kaggle API when
    the ``kaggle`` package and credentials are there. Without either, a folder that is
    already complete is just checked again.
    """
    base = Path(root) / "halfearth"
    report = DatasetReport("halfearth", base)
    if archive is not None:
        archive = Path(archive)
        if not archive.is_file():
            raise SpecimaskError(f"{archive}: no such file; pass the zip or tar of Herbarium "
                                 f"2021 you downloaded from {KAGGLE_URL}/data")
    else:
        missing = kaggle_missing()
        if missing:
            if _find_metadata(base) is not None:  # already unpacked: just check it
                yield from _check_halfearth(base, report)
                return report
            raise SpecimaskError(
                f"halfearth: no --archive given and the Kaggle API is not set up ({missing}). "
                f"Either download the data from {KAGGLE_URL}/data on any machine and pass "
                "--archive PATH (zip or tar), or `pip install kaggle`, put your API token in "
                "~/.kaggle/kaggle.json (or set KAGGLE_USERNAME and KAGGLE_KEY), accept the "
                "competition rules on Kaggle and run this again"
            )
        archive = yield from _kaggle_download(base / "downloads")
    base.mkdir(parents=True, exist_ok=True)
    ex = yield from _prefixed_progress(extract_archive(archive, base, None, stop),
                              f"unpack {archive.name}: ")
    report.files, report.bytes, report.skipped = ex.files, ex.bytes, ex.skipped
    if ex.stopped:
        report.stopped = True
        return report
    yield from _check_halfearth(base, report, archive)
    return report


def kaggle_missing() -> str:
    """Why the Kaggle API cannot be used here ("" when it can)."""
    reasons = []
    if importlib.util.find_spec("kaggle") is None:
        reasons.append("the kaggle package is not installed")
    env = os.environ.get("KAGGLE_USERNAME") and os.environ.get("KAGGLE_KEY")
    if not env and not any(p.is_file() for p in _kaggle_config_files()):
        reasons.append("no Kaggle credentials")
    return " and ".join(reasons)


def _kaggle_config_files() -> list[Path]:
    home = Path.home()
    dirs = [Path(os.environ["KAGGLE_CONFIG_DIR"])] if os.environ.get("KAGGLE_CONFIG_DIR") else []
    dirs += [home / ".kaggle", home / ".config" / "kaggle"]
    return [d / "kaggle.json" for d in dirs]


def _kaggle_download(dest: Path) -> Job[Path]:
    """Fetch the competition zip with the Kaggle API (which shows its own progress)."""
    dest.mkdir(parents=True, exist_ok=True)
    yield Progress(0, 0, f"Kaggle: downloading {KAGGLE_COMPETITION}")
    try:
        from kaggle.api.kaggle_api_extended import KaggleApi

        api = KaggleApi()
        api.authenticate()
        api.competition_download_files(KAGGLE_COMPETITION, path=str(dest), quiet=False)
    except Exception as exc:  # the kaggle client raises many types; all mean the same here
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise SpecimaskError(
            f"Kaggle download of {KAGGLE_COMPETITION} failed ({reason}); check your "
            f"credentials, accept the rules at {KAGGLE_URL}/rules, or download the data "
            "yourself and pass --archive PATH"
        ) from None
    zips = sorted(dest.glob("*.zip"), key=lambda p: p.name != f"{KAGGLE_COMPETITION}.zip")
    if not zips:
        raise SpecimaskError(f"{dest}: the Kaggle API reported success but left no zip; "
                             "download the data yourself and pass --archive PATH")
    return zips[0]


def _find_metadata(base: Path) -> Path | None:
    direct = base / "train" / "metadata.json"
    if direct.is_file():
        return direct
    nested = sorted(base.glob("*/train/metadata.json"))
    return nested[0] if nested else None


def _check_halfearth(base: Path, report: DatasetReport, archive: Path | None = None) -> Job[None]:
    """Check that ``train/metadata.json`` is there and has images, annotations, categories."""
    yield Progress(0, 1, "checking train/metadata.json")
    source = f" from {archive}" if archive else ""
    meta = _find_metadata(base)
    if meta is None:
        raise SpecimaskError(
            f"{base}: train/metadata.json is missing after unpacking{source}; this is not the "
            f"Herbarium 2021 (FGVC8) layout (train/metadata.json, train/images/...) or the "
            f"archive is incomplete; get the full archive from {KAGGLE_URL}/data"
        )
    keys = ("images", "annotations", "categories")
    if meta.stat().st_size > METADATA_PARSE_LIMIT:
        found = _scan_keys(meta, keys)
        data = None
    else:
        try:
            data = json.loads(meta.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise SpecimaskError(f"{meta}: not valid JSON ({exc}); the archive may be "
                                 "damaged, get it again") from None
        if not isinstance(data, dict):
            raise SpecimaskError(f"{meta}: expected a JSON object with {', '.join(keys)}")
        found = {k for k in keys if isinstance(data.get(k), list)}
    missing = [k for k in keys if k not in found]
    if missing:
        raise SpecimaskError(f"{meta}: no {' / '.join(missing)} list; expected the Herbarium "
                             f"2021 (FGVC8) metadata with {', '.join(keys)}")
    report.metadata = meta
    if data is not None:
        report.images = len(data["images"])
        report.categories = len(data["categories"])
        gone = [im.get("file_name") for im in data["images"][:20]
                if im.get("file_name") and not (meta.parent / im["file_name"]).is_file()]
        if gone:
            report.problems.append(f"{meta.parent / gone[0]}: listed in metadata.json but not "
                                   f"on disk ({len(gone)} of the first 20 missing)")
    yield Progress(1, 1, "checked train/metadata.json")


def _scan_keys(path: Path, keys: tuple[str, ...]) -> set[str]:
    """Keys that appear as ``"key": [`` in a JSON file too big to parse for a check."""
    patterns = {k: re.compile(rb'"' + k.encode() + rb'"\s*:\s*\[') for k in keys}
    found: set[str] = set()
    tail = b""
    with open(path, "rb") as fh:
        while (block := fh.read(1 << 22)) and len(found) < len(keys):
            window = tail + block
            found |= {k for k, pat in patterns.items() if pat.search(window)}
            tail = window[-64:]
    return found


# -- helpers -------------------------------------------------------------------------------


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def _visible_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def _safe_name(name: str, where: str) -> str:
    base = PurePosixPath(str(name).replace("\\", "/")).name
    if base in ("", ".", ".."):
        raise SpecimaskError(f"{where}: a listed file has an unusable name {name!r}")
    return base


def _load_manifest(base: Path) -> dict:
    try:
        data = json.loads((base / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_manifest(base: Path, manifest: dict) -> None:
    with atomic_path(base / MANIFEST) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _manifest_files(base: Path, manifest: dict, article) -> list[RemoteFile]:
    """Offline re-run: the files a finished run recorded, if all of them are still here."""
    if manifest.get("article") != article:
        return []
    entries = manifest.get("files", {})
    files = [RemoteFile(e["name"], e["url"], e.get("size"), e.get("md5"))
             for rel, e in entries.items() if (base / rel).is_file()]
    return files if files and len(files) == len(entries) else []


def _prefixed_progress(job: Job, prefix: str) -> Job:
    """A part's reports with ``prefix`` on each message (which file, which step)."""
    return map_progress(job, lambda p: Progress(p.done, p.total, prefix + p.message))
