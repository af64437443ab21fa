"""`specimask check`: do the project's files and records agree?"""

from __future__ import annotations

import json
from pathlib import Path

from napari_specimask.core.store.integrity import check_project
from napari_specimask.core.store.project import Project


def register(sub) -> None:
    p = sub.add_parser("check", help="check the database and that every record has its file")
    p.add_argument("project", type=Path)
    p.add_argument("--json", action="store_true", help="print the problems as a JSON list")
    p.set_defaults(func=cmd_check)


def cmd_check(args) -> int:
    with Project.open(args.project) as project:
        problems = check_project(project)
        n = project.store.read_one("SELECT COUNT(*) FROM annotations")[0]
    if args.json:
        print(json.dumps(problems))
    elif problems:
        print(f"{len(problems)} problem(s) in {args.project}:")
        for line in problems:
            print(f"  {line}")
    else:
        print(f"{args.project}: database intact; {n} saved mask(s), each with its file")
    return 1 if problems else 0
