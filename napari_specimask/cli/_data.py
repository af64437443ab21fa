"""``specimask download``: fetch public herbarium data sets ready for ``specimask init``."""

from __future__ import annotations

from pathlib import Path

from napari_specimask.cli._jobs import drive
from napari_specimask.core.datasets.ferns import download_ferns
from napari_specimask.core.datasets.halfearth import download_halfearth
from napari_specimask.core.datasets.public import DATASETS, DatasetReport
from napari_specimask.core.errors import SpecimaskError


def register(sub) -> None:
    p = sub.add_parser(
        "download", help="download a public data set (ferns, halfearth); re-run to resume",
        description="Download a public herbarium data set into ROOT/NAME. Interrupted runs "
                    "resume; finished files are verified, not fetched again. See "
                    "docs/datasets.md.",
    )
    p.add_argument("dataset", choices=DATASETS)
    p.add_argument("--root", type=Path, required=True, help="folder that receives ROOT/NAME")
    p.add_argument("--archive", type=Path,
                   help="halfearth: the Herbarium 2021 zip or tar you already downloaded")
    p.add_argument("--article", help="ferns: take the files of this figshare article id "
                                     "(API v2) instead of the published file ids")
    p.set_defaults(func=cmd_download)


def cmd_download(args) -> int:
    if args.dataset == "ferns":
        if args.archive is not None:
            raise SpecimaskError("--archive is for halfearth; ferns are fetched from figshare")
        report = drive(download_ferns(args.root, args.article), "download ferns")
    else:
        if args.article is not None:
            raise SpecimaskError("--article is for ferns (a figshare article id)")
        report = drive(download_halfearth(args.root, args.archive), "download halfearth")
    print_report(report)
    return 0


def print_report(report: DatasetReport) -> None:
    print(f"{report.name}: {report.files} file(s) fetched or unpacked "
          f"({report.bytes / 1e6:.1f} MB), {report.skipped} already there and verified"
          + (f"; {report.masks} mask(s) cleaned" if report.name == "ferns" else ""))
    for problem in report.problems:
        print(f"  note: {problem}")
    if report.name == "ferns":
        root = report.root
        print(f"  {report.images} image(s) in {root / 'images'}, masks in {root / 'masks'}")
        print(f"next: specimask init PROJECT --images {root / 'images'} "
              f"--masks {root / 'masks'}")
    elif report.metadata is not None:
        counts = (f"{report.images} image(s), {report.categories} categories"
                  if report.images is not None else "metadata checked")
        print(f"  {counts} in {report.metadata}")
