"""Open napari on a project (used by ``specimask demo``); the only place the CLI touches Qt."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from napari_specimask.core.errors import SpecimaskError
from napari_specimask.core.image_io import to_rgb8
from napari_specimask.core.project import Project


def check_display() -> None:
    """Fail with advice instead of letting Qt abort the process without a screen."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("QT_QPA_PLATFORM")
    ):
        raise SpecimaskError(
            "no display to open napari on (DISPLAY is not set); run it on a desktop, or "
            "`xvfb-run -a specimask demo --screenshot demo.png`, or add --no-viewer"
        )


def open_project(root: str | Path, screenshot: str | Path | None = None):
    """Show the project's first pool image with its proposal and verified mask."""
    check_display()
    try:
        import napari
    except ImportError:
        raise SpecimaskError(
            "napari is not installed; `pip install 'napari-specimask[all]'` "
            "(or use --no-viewer)"
        ) from None
    with Project.open(root) as project:
        records = project.images(role="pool") or project.images()
        viewer = napari.Viewer(title=f"specimask: {project.settings.name}")
        if records:
            record = records[0]
            viewer.add_image(to_rgb8(project.read_image(record)), name=record.name, rgb=True)
            for kind, name, colour in (("pseudo", "proposal", "magenta"),
                                       ("verified", "mask", "lime")):
                mask = project.load_mask(record.id, kind)
                if mask is not None:
                    layer = viewer.add_labels(mask.astype("uint8"), name=name, opacity=0.45)
                    layer.colormap = {0: "transparent", 1: colour, None: "transparent"}
    if screenshot is not None:
        viewer.screenshot(str(screenshot), canvas_only=False)
        viewer.close()
        return None
    napari.run()
    return viewer
