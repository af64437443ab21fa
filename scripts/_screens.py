"""What the screenshot scripts share: a napari window with the widgets docked, waiting on
its workers while Qt keeps drawing, and a shot of the whole window with one tab raised."""

from __future__ import annotations

import time
from pathlib import Path


def wait(app, condition, timeout: float = 900.0) -> None:
    """Process Qt events until ``condition()`` holds, then a little longer (to draw)."""
    t0 = time.perf_counter()
    while not condition():
        app.processEvents()
        time.sleep(0.01)
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("the widget did not finish in time")
    for _ in range(30):
        app.processEvents()
        time.sleep(0.01)


def idle(app, annotate, timeout: float = 300.0) -> None:
    """Until Annotate shows what it was asked for and its writes are done (both happen
    off the GUI thread)."""
    wait(app, lambda: annotate.loading is None and annotate.writes.pending == 0, timeout)


class Window:
    """napari at 1400 x 900 with the specimask widgets docked."""

    def __init__(self):
        import napari

        from napari_specimask._launch import dock_widgets
        from napari_specimask._widgets._session import session_for

        self.viewer = napari.Viewer(title="specimask")
        self.viewer.window.resize(1400, 900)
        self.app = napari.qt.get_qapp()
        self.widgets = dock_widgets(self.viewer)
        self.session = session_for(self.viewer)

    def wait(self, condition, timeout: float = 900.0) -> None:
        wait(self.app, condition, timeout)

    def shot(self, tab: str, path: Path) -> None:
        from napari_specimask._launch import raise_tab

        table = self.widgets["Project"].model  # its order is read in a thread
        self.wait(lambda: not table.loading)
        idle(self.app, self.widgets["Annotate"])
        raise_tab(self.viewer, tab)
        self.wait(lambda: not table.loading)
        self.viewer.screenshot(str(path), canvas_only=False)
        print(path)
