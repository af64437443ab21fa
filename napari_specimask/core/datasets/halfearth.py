"""Herbarium 2021 - Half-Earth Challenge (FGVC8, Kaggle). It is far too big
to fetch casually and needs a Kaggle account, so it comes from an archive you already
have (``--archive``) or through the Kaggle API when that is set up.

Re-running is cheap: extraction skips members already on disk, and without an archive
or the Kaggle API a folder already unpacked is just checked again.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import threading
from pathlib import Path

from ..errors import SpecimaskError
from ..io.archives import extract_archive
from ..progress import Job, Progress
from .public import DatasetReport, prefixed_progress

KAGGLE_COMPETITION = "herbarium-2021-fgvc8"
KAGGLE_URL = f"https://www.kaggle.com/c/{KAGGLE_COMPETITION}"
METADATA_PARSE_LIMIT = 200_000_000  # bytes; a bigger metadata.json is checked by key scan


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
    ex = yield from prefixed_progress(extract_archive(archive, base, None, stop),
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
