"""Project commands: init, import, status, export."""

from __future__ import annotations

import json
from pathlib import Path

from napari_specimask.core.export import FORMATS, WHICH, export_masks
from napari_specimask.core.importer import ImportReport, import_images
from napari_specimask.core.project import Project
from napari_specimask.core.settings import Settings
from napari_specimask.core.store import ROLES, STATUSES

from ._jobs import drive


def register(sub) -> None:
    p = sub.add_parser("init", help="create a project from a folder of images")
    p.add_argument("project", type=Path)
    p.add_argument("--images", type=Path, required=True, help="folder of images (recursive)")
    p.add_argument("--masks", type=Path, help="folder of masks named like the images")
    p.add_argument("--role", choices=ROLES, default="pool")
    p.add_argument("--name", help="project name (default: folder name)")
    p.add_argument("--max-pixels", type=int, help="refuse larger images (bomb guard)")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("import", help="add a folder of images (and masks) to a project")
    p.add_argument("project", type=Path)
    p.add_argument("images", type=Path)
    p.add_argument("--masks", type=Path)
    p.add_argument("--role", choices=ROLES, default="pool")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("status", help="counts of images by status and role")
    p.add_argument("project", type=Path)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("export", help="write masks as image files named after the images")
    p.add_argument("project", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--format", choices=FORMATS, default="png")
    p.add_argument("--which", choices=WHICH, default="verified",
                   help="verified masks, cold-start (pseudo) masks, or the proposals queued "
                        "images are shown with (to correct them in another program)")
    p.add_argument("--role", choices=ROLES)
    p.add_argument("--status", choices=STATUSES)
    p.set_defaults(func=cmd_export)


def cmd_init(args) -> int:
    settings = Settings(name=args.name or args.project.resolve().name)
    if args.max_pixels:
        settings.images.max_pixels = args.max_pixels
    with Project.create(args.project, settings) as project:
        report = drive(import_images(project, args.images, args.masks, args.role), "import")
    print(f"created project {project.root}")
    print_report(report)
    return 0


def cmd_import(args) -> int:
    with Project.open(args.project) as project:
        report = drive(import_images(project, args.images, args.masks, args.role), "import")
    print_report(report)
    return 0


def print_report(report: ImportReport) -> None:
    print(f"added {len(report.added)} image(s), {report.masks} with masks; "
          f"skipped {len(report.skipped)}")
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
    return 0


def cmd_export(args) -> int:
    with Project.open(args.project) as project:
        report = drive(export_masks(project, args.out, args.format, args.which, args.role,
                                    args.status), "export")
    print(f"wrote {len(report.written)} {args.which} mask(s) to {args.out}"
          f" ({report.without_mask} image(s) have none)")
    return 0
