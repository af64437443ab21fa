"""Open napari with the specimask widgets docked (``specimask gui`` / ``demo``)."""

from __future__ import annotations

WIDGETS = ("Project", "Annotate", "Predictions", "Active learning", "Train", "QA",
           "Import / export")


def dock_widgets(viewer) -> dict:
    """Dock each widget once per viewer, through the manifest, as tabs; return them by name.

    napari returns the existing dock when a widget is docked already.
    """
    docked = {}
    for i, name in enumerate(WIDGETS):
        _dock, widget = viewer.window.add_plugin_dock_widget("napari-specimask", name,
                                                             tabify=i > 0)
        docked[name] = widget
    return docked


def open_gui(project_root=None, screenshot=None, show_tab: str = "Annotate"):
    """napari with the widgets docked and, if given, the project open."""
    import napari

    from napari_specimask._viewer import check_display
    from napari_specimask._widgets._session import session_for

    check_display()
    viewer = napari.Viewer(title="specimask")
    widgets = dock_widgets(viewer)
    if project_root is not None:
        session = session_for(viewer)
        session.open(project_root)
        if not session.queue and session.project.images():
            session.show_requested.emit(session.project.images()[0].id)
    dock = viewer.window._wrapped_dock_widgets.get(f"{show_tab} (napari-specimask)")
    if dock is not None:
        dock.raise_()
    if screenshot is not None:
        viewer.window._qt_window.resize(1400, 900)
        viewer.screenshot(str(screenshot), canvas_only=False)
        viewer.close()
        return widgets
    napari.run()
    return widgets
