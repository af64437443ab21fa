"""Open napari with the specimask widgets docked (``specimask gui`` / ``demo``)."""

from __future__ import annotations

PLUGIN = "napari-specimask"
WIDGETS = ("Project", "Annotate", "Predictions", "Active learning", "Train", "QA",
           "Import / export")


def dock_widgets(viewer) -> dict:
    """Dock each widget once per viewer, through the manifest, as tabs; return them by name.

    napari returns the existing dock when a widget is docked already. The tabs' names
    and whole-name tab bars come from the widgets themselves (``_widgets._dock``), so
    docks opened one by one from the Plugins menu get them too.
    """
    from napari_specimask._widgets._dock import join_specimask_tabs

    docked = {}
    for i, name in enumerate(WIDGETS):
        _dock, widget = viewer.window.add_plugin_dock_widget(PLUGIN, name, tabify=i > 0)
        join_specimask_tabs(widget)  # now, not when the widget's timer fires
        docked[name] = widget
    return docked


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
