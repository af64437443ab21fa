"""Checks before napari opens a window (used by ``specimask gui`` and ``demo``)."""

from __future__ import annotations

import os
import sys

from napari_specimask.core.errors import SpecimaskError


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
