"""``specimask demo``: build the synthetic demo project and open napari on it."""

from __future__ import annotations

from pathlib import Path

from napari_specimask.cli._jobs import drive
from napari_specimask.core.demo.project import create_demo_project
from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.settings import SETTINGS_FILE
from napari_specimask.core.store.project import Project


def register(sub) -> None:
    register_gui(sub)
    p = sub.add_parser("demo", help="create the demo project and open napari on it")
    p.add_argument("--out", type=Path, default=Path("specimask-demo"),
                   help="folder for the demo project (default: ./specimask-demo)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-viewer", action="store_true", help="only create the project")
    p.add_argument("--small", action="store_true",
                   help="6 + 6 images instead of 24 + 24 (quick checks and tests)")
    p.add_argument("--screenshot", type=Path,
                   help="save a screenshot of the viewer to this PNG and exit")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args) -> int:
    if not args.no_viewer:
        require_napari()  # before the project is made, not after
    if (args.out / SETTINGS_FILE).exists():
        print(f"using the existing demo project in {args.out.resolve()}")
        Project.open(args.out).close()
    else:
        n = 6 if args.small else 24
        project = drive(create_demo_project(args.out, seed=args.seed, n_herbarium=n,
                                            n_plankton=n), "demo")
        summary = project.summary()
        project.close()
        print(f"created demo project in {project.root}: {summary['images']} images "
              f"({summary['by_role']['pool']} pool, {summary['by_role']['val']} val, "
              f"{summary['by_role']['test']} test); true masks in {project.root / 'truth'}")
    if args.no_viewer:
        return 0
    from napari_specimask._launch import open_gui  # napari only when a viewer is wanted

    open_gui(args.out, screenshot=args.screenshot)
    return 0


def register_gui(sub) -> None:
    p = sub.add_parser("gui", help="open napari with the specimask widgets")
    p.add_argument("project", type=Path, nargs="?", help="a project to open")
    p.add_argument("--screenshot", type=Path, help="save a screenshot to this PNG and exit")
    p.set_defaults(func=cmd_gui)


def cmd_gui(args) -> int:
    from napari_specimask._launch import open_gui

    require_napari()
    if args.project is not None:
        Project.open(args.project).close()  # a clear error before any window opens
    open_gui(args.project, screenshot=args.screenshot)
    return 0


GUI_INSTALL = 'install the GUI with `pip install "napari-specimask[all]"`'


def require_napari() -> None:
    """One line instead of a ModuleNotFoundError on a headless install (no napari)."""
    try:
        import napari  # noqa: F401
    except ModuleNotFoundError as exc:
        if (exc.name or "napari").split(".")[0] != "napari":
            raise SpecimaskError(f"napari cannot start: {exc.name} is not installed; "
                                 f"{GUI_INSTALL}") from None
        raise SpecimaskError(f"napari is not installed; {GUI_INSTALL}") from None
