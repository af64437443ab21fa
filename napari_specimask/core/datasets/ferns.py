"""The ferns: Smithsonian fern sheets with hand-made masks of White et al. (2020),
*Applications in Plant Sciences* 8(6): e11352, doi:10.1002/aps3.11352, published on
Smithsonian figshare. The masks were saved as JPEG, so they carry grey edges and
compression noise; they are cleaned as the authors' pipeline does (pixel > 50 is
specimen, then a 5 x 5 median) and written as 0/255 PNG.

Every step can be re-run: downloads resume, finished files are verified against the
sha256 recorded in ``MANIFEST.json``, extraction skips members already on disk and cleaned
masks are not redone.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path, PurePosixPath

import numpy as np

from ..errors import SpecimaskError
from ..io.archives import extract_archive
from ..io.download import DownloadError, download_file
from ..io.hashing import file_digests, known_digests
from ..io.images import is_image_path, read_image, write_mask_png
from ..progress import Job, Progress, stopped
from .public import (
    ARCHIVE_SUFFIXES,
    FIGSHARE_DOWNLOAD,
    FIGSHARE_DOWNLOAD_ENV,
    DatasetReport,
    RemoteFile,
    figshare_files,
    load_manifest,
    manifest_files,
    prefixed_progress,
    save_manifest,
    stamp,
    visible_files,
)

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
MASK_TAGS = ("_mask", "-mask", ".mask")


def fern_files(article: int | str | None = None) -> list[RemoteFile]:
    """The files to fetch: the published file ids, or every file of figshare ``article``."""
    if article is not None:
        return figshare_files(article)
    base = os.environ.get(FIGSHARE_DOWNLOAD_ENV, FIGSHARE_DOWNLOAD).rstrip("/")
    return [RemoteFile(name, f"{base}/files/{fid}") for name, fid in FERN_FILES]


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
    manifest = load_manifest(base)
    try:
        files = fern_files(article)
    except DownloadError:
        files = manifest_files(base, manifest, article)
        if not files:
            raise
    manifest["dataset"] = "ferns"
    manifest["citation"] = FERN_CITATION
    manifest["article"] = article
    archives = []
    for i, remote in enumerate(files, 1):
        path = yield from _fetch(base, remote, manifest, f"[{i}/{len(files)}] ", report, stop)
        if path is None:
            report.stopped = True
            return report
        if _is_archive(remote):
            archives.append(path)
    for archive in archives:
        ex = yield from prefixed_progress(extract_archive(archive, base, _fern_route, stop),
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
    report.images = sum(1 for p in visible_files(images) if is_image_path(p))
    metadata = sorted(base.glob("*.tsv")) + sorted(base.glob("*.csv"))
    report.metadata = metadata[0] if metadata else None
    return report


def _is_archive(remote: RemoteFile) -> bool:
    return remote.name.lower().endswith(ARCHIVE_SUFFIXES)


def _fetch(
    base: Path, remote: RemoteFile, manifest: dict, label: str, report: DatasetReport,
    stop: threading.Event | None,
) -> Job[Path | None]:
    """Download one file (or verify the copy there) and record its sha256 in the manifest.

    A sha256 from the manifest is trusted only while figshare's md5 is unchanged, so a
    re-published file is fetched again. None when stopped.
    """
    entries = manifest.setdefault("files", {})
    target = (base / "downloads" / remote.name) if _is_archive(remote) else base / remote.name
    rel = target.relative_to(base).as_posix()
    entry = entries.get(rel, {})
    known = entry.get("sha256") if entry.get("md5") == remote.md5 else None
    before = stamp(target)
    hint = (f"or download on a connected machine (specimask download ferns --root DIR) and "
            f"copy {base} here")
    path = yield from prefixed_progress(
        download_file(remote.url, target, sha256=known, md5=remote.md5, stop=stop,
                      size=remote.size, offline_hint=hint),
        label,
    )
    if path is None:
        return None
    if before is not None and before == stamp(path):
        report.skipped += 1
    else:
        report.files += 1
        report.bytes += path.stat().st_size
    digests = known_digests(path) or {}
    if "sha256" not in digests:
        digests = yield from file_digests(path, ("sha256",), stop)
        if digests is None:
            return None
    entries[rel] = {"name": remote.name, "url": remote.url, "size": path.stat().st_size,
                    "md5": remote.md5, "sha256": digests["sha256"]}
    save_manifest(base, manifest)
    return path


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
    raws = [p for p in visible_files(raw_dir) if is_image_path(p)] if raw_dir.is_dir() else []
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

