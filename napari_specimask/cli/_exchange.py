"""Exchange commands: masks made elsewhere into a project (a folder, Label Studio)."""

from __future__ import annotations

from pathlib import Path

from napari_specimask.cli._jobs import drive
from napari_specimask.cli._options import cold_start_word
from napari_specimask.core.exchange.labelstudio_import import import_labelstudio
from napari_specimask.core.exchange.mask_import import (
    AS_KINDS,
    MaskImportReport,
    import_mask_folder,
)
from napari_specimask.core.store.project import Project

LISTED = 10  # long lists (images without a mask) are cut to this many lines

_AS_HELP = ("labels: verified masks (origin imported); coldstart: cold-start proposals a person "
            "corrects (default: labels)")


def register(sub) -> None:
    p = sub.add_parser("import-masks",
                       help="masks from a folder (e.g. a model's predictions) for project images")
    p.add_argument("project", type=Path)
    p.add_argument("masks", type=Path, help="folder of masks named like the images")
    p.add_argument("--as", dest="as_", choices=AS_KINDS, default="labels", help=_AS_HELP,
                   type=cold_start_word)
    p.add_argument("--method", help="recorded with each mask (default: the mask's file name)")
    p.add_argument("--threshold", type=float,
                   help="read grey maps (probabilities) as mask where value >= this fraction "
                        "of the range, e.g. 0.5; two-valued masks are read as they are")
    p.add_argument("--overwrite", action="store_true",
                   help="replace verified masks the project already has (default: keep them)")
    p.set_defaults(func=cmd_import_masks)

    p = sub.add_parser("import-labelstudio",
                       help="brush masks from a Label Studio JSON export")
    p.add_argument("project", type=Path)
    p.add_argument("export", type=Path, help="the JSON file Label Studio exported")
    p.add_argument("--label", help="only brush results with this label (default: all, merged)")
    p.add_argument("--as", dest="as_", choices=AS_KINDS, default="labels", help=_AS_HELP,
                   type=cold_start_word)
    p.add_argument("--method",
                   help="recorded with each mask (default: 'labelstudio task T annotation A')")
    p.add_argument("--overwrite", action="store_true",
                   help="replace verified masks the project already has (default: keep them)")
    p.set_defaults(func=cmd_import_labelstudio)


def cmd_import_masks(args) -> int:
    with Project.open(args.project) as project:
        report = drive(import_mask_folder(project, args.masks, args.as_, args.method,
                                          args.threshold, args.overwrite), "import masks")
    print_mask_report(report, args.as_, "image(s) without a mask", "mask file(s) of no image")
    return 0


def cmd_import_labelstudio(args) -> int:
    with Project.open(args.project) as project:
        report = drive(import_labelstudio(project, args.export, args.label, args.as_,
                                          args.method, args.overwrite), "import Label Studio")
    print_mask_report(report, args.as_, "task(s) without a brush mask",
                      "task(s) of no project image")
    return 0


def print_mask_report(report: MaskImportReport, as_: str, without: str,
                      unmatched: str) -> None:
    kind = "verified mask(s)" if as_ == "labels" else "cold-start mask(s)"
    print(f"imported {len(report.imported)} {kind}; {len(report.without_mask)} {without}; "
          f"{len(report.unmatched)} {unmatched}; skipped {len(report.skipped)}"
          + (" (stopped early)" if report.stopped else ""))
    for s in report.skipped:
        print(f"  skipped {s.path}: {s.reason}")
    _listed("no match", report.unmatched)
    _listed("without mask", report.without_mask)


def _listed(what: str, lines: list[str]) -> None:
    for line in lines[:LISTED]:
        print(f"  {what}: {line}")
    if len(lines) > LISTED:
        print(f"  ... and {len(lines) - LISTED} more {what}")
