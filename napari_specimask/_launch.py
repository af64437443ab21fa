"""Open napari with the specimask widgets docked (``specimask gui`` / ``demo``)."""

from __future__ import annotations

PLUGIN = "napari-specimask"
WIDGETS = ("Project", "Annotate", "Predictions", "Active learning", "Train", "QA",
           "Import / export")


def dock_widgets(viewer) -> dict:
    """Dock each widget once per viewer, through the manifest, as tabs; return them by name.

    napari returns the existing dock when a widget is docked already.
    """
    docked = {}
    for i, name in enumerate(WIDGETS):
        dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name, tabify=i > 0)
        dock.setWindowTitle(name)  # the tab's text: "Train", not "Train (napari-specimask)"
        docked[name] = widget
    readable_tabs(viewer)
    return docked


def readable_tabs(viewer) -> None:
    """Seven tabs in a dock-wide bar: Qt cuts each name to 'Pr...'; show whole names and
    let the bar scroll instead (arrows at its end)."""
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QTabBar

    for bar in viewer.window._qt_window.findChildren(QTabBar):
        bar.setElideMode(Qt.TextElideMode.ElideNone)
        bar.setUsesScrollButtons(True)


def raise_tab(viewer, name: str) -> None:
    """Bring a docked widget's tab to the front (docking it if it is not yet)."""
    dock, _widget = viewer.window.add_plugin_dock_widget(PLUGIN, name)
    dock.raise_()


def open_gui(project_root=None, screenshot=None, show_tab: str = "Annotate"):
    """napari with the widgets docked and, if given, the project open.

    This process is specimask's own, so the heap is frozen here once everything is
    loaded (``_widgets._process.settle_heap``); a plugin import never does that.
    """
    import napari

    from napari_specimask._viewer import check_display

    check_display()
    viewer = napari.Viewer(title="specimask")
    widgets = dock_widgets(viewer)

    from napari_specimask._widgets._process import settle_heap
    from napari_specimask._widgets._session import session_for

    if project_root is not None:
        session = session_for(viewer)
        session.open(project_root)
        first = session.project.first_image_id()
        if not session.queue and first is not None:
            session.show_requested.emit(first)
    raise_tab(viewer, show_tab)
    settle_heap()
    if screenshot is not None:
        viewer.window.resize(1400, 900)
        viewer.screenshot(str(screenshot), canvas_only=False)
        viewer.close()
        return widgets
    napari.run()
    return widgets
