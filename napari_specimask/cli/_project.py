"""Project commands: init, import, status, export."""

from __future__ import annotations

import json
from pathlib import Path

from napari_specimask.cli._jobs import drive
from napari_specimask.cli._options import cold_start_word
from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.exchange.add_images import add_images
from napari_specimask.core.exchange.export import (
    BACKGROUNDS,
    EXPORT_FORMATS,
    FORMATS,
    WHICH,
    export,
)
from napari_specimask.core.exchange.image_import import ImportReport
from napari_specimask.core.io.naming import rename_note
from napari_specimask.core.settings import Settings
from napari_specimask.core.store.project import Project
from napari_specimask.core.store.schema import ROLES, STATUSES
from napari_specimask.core.vocabulary import in_words


def register(sub) -> None:
    p = sub.add_parser("init", help="create a project from a folder of images")
    p.add_argument("project", type=Path)
    p.add_argument("--images", type=Path, required=True, help="folder of images (recursive)")
    p.add_argument("--masks", type=Path, help="folder of masks named like the images")
    p.add_argument("--role", choices=ROLES, default="pool")
    p.add_argument("--name", help="project name (default: folder name)")
    p.add_argument("--max-pixels", type=int, help="refuse larger images (bomb guard)")
    add_propose_option(p)
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("import", help="add a folder of images (and masks) to a project")
    p.add_argument("project", type=Path)
    p.add_argument("images", type=Path)
    p.add_argument("--masks", type=Path)
    p.add_argument("--role", choices=ROLES, default="pool")
    add_propose_option(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("status", help="counts of images by status and role")
    p.add_argument("project", type=Path)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("export", help="write masks as images, cut-outs, COCO JSON or a "
                                      "provenance table")
    p.add_argument("project", type=Path)
    p.add_argument("--out", type=Path, required=True,
                   help="a folder (png, tif, cutout); a file or folder (coco, provenance)")
    p.add_argument("--format", choices=EXPORT_FORMATS, default="png",
                   help="png/tif: 0/255 masks; cutout: the specimen alone; coco: one COCO "
                        "JSON with RLE masks; provenance: a CSV of where each mask came from")
    p.add_argument("--which", choices=WHICH, default="verified", type=cold_start_word,
                   help="verified masks, cold-start masks, or the proposals queued "
                        "images are shown with (to correct them in another program)")
    p.add_argument("--role", choices=ROLES)
    p.add_argument("--status", choices=STATUSES)
    g = p.add_argument_group("cut-outs (--format cutout)")
    g.add_argument("--background", choices=BACKGROUNDS, default="transparent",
                   help="transparent: RGBA PNG; white: RGB PNG (or JPEG with --jpeg)")
    g.add_argument("--crop", action="store_true", help="crop to the mask's bounding box")
    g.add_argument("--margin", type=int, default=16, help="px kept around the box with --crop")
    g.add_argument("--jpeg", action="store_true", help="white-background cut-outs as JPEG")
    p.set_defaults(func=cmd_export)


def add_propose_option(p) -> None:
    p.add_argument("--no-propose", dest="propose", action="store_false",
                   help="import only: no cold-start proposals for the new images (a large "
                        "collection; run `specimask propose` later)")


def cmd_init(args) -> int:
    settings = Settings(name=args.name or args.project.resolve().name)
    if args.max_pixels:
        settings.images.max_pixels = args.max_pixels
    with Project.create(args.project, settings) as project:
        print(f"created project {project.root}")
        _add(project, args)
    return 0


def cmd_import(args) -> int:
    with Project.open(args.project) as project:
        _add(project, args)
    return 0


def _add(project: Project, args) -> None:
    """Import, then cold-start proposals for the new images (as napari's Add images…)."""
    added = drive(add_images(project, args.images, args.masks, args.role, args.propose),
                  "import")
    print_report(added.imported)
    if added.choice is not None:
        print(f"cold-start method chosen for this project: {added.choice.reason}")
    if added.proposed:
        print(f"stored {added.proposed} '{added.method}' cold-start proposal(s)")


def print_report(report: ImportReport) -> None:
    given = (f"; {report.completed} mask(s) given to images an interrupted import had "
             "added without them" if report.completed else "")
    print(f"added {len(report.added)} image(s), {report.masks - report.completed} with masks"
          f"{given}; skipped {len(report.skipped)}")
    for s in report.skipped:
        print(f"  skipped {s.path}: {s.reason}")


def cmd_status(args) -> int:
    with Project.open(args.project) as project:
        summary = project.summary()
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{summary['name']} ({summary['project']})")
    print(f"  images: {summary['images']}")
    for key in ("by_status", "by_role", "masks_by_origin"):
        counts = ", ".join(f"{k} {v}" for k, v in summary[key].items())
        print(f"  {key.replace('_', ' ')}: {counts}")
    print(f"  iteration: {summary['iteration']}, active model: {summary['active_model']}")
    drafts = summary["unsaved_drafts"]
    if drafts:
        named = ", ".join(f"{d['image']} ({d['author']})" for d in drafts[:5])
        more = f" and {len(drafts) - 5} more" if len(drafts) > 5 else ""
        print(f"  unsaved drafts: {len(drafts)}: {named}{more}; napari closed before they"
              " were saved: open those images in Annotate to restore or discard them")
    return 0


def cmd_export(args) -> int:
    cutout = {}
    if args.format == "cutout":
        cutout = dict(background=args.background, crop=args.crop, margin=args.margin,
                      jpeg=args.jpeg)
    elif args.crop or args.jpeg or args.background != "transparent":
        raise SpecimaskError("--background, --crop and --jpeg apply to --format cutout only")
    with Project.open(args.project) as project:
        report = drive(export(project, args.out, args.format, args.which, args.role,
                              args.status, **cutout), "export")
    none, which = f"{report.without_mask} image(s) have none", in_words(args.which)
    if args.format in FORMATS:
        print(f"wrote {len(report.written)} {which} mask(s) to {args.out} ({none})")
    elif args.format == "cutout":
        print(f"wrote {len(report.written)} cut-out(s) of {which} masks to {args.out} "
              f"({none}; {report.empty} empty)")
    elif report.written and args.format == "coco":
        print(f"wrote {report.written[0]}: {report.images} image(s), {report.annotations} "
              f"annotation(s) of {which} masks ({none})")
    elif report.written:
        print(f"wrote {report.written[0]}: {report.images} row(s) for {which} masks "
              f"({none})")
    if report.renamed:
        print(rename_note(report.renamed))
    if report.stopped:
        print("stopped early" + ("" if args.format in FORMATS + ("cutout",)
                                 else "; nothing written"))
    return 0
