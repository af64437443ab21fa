"""What every specimask dock widget shares: a window that fits the screen.

Each widget's content sits in a scroll area, so no dock asks for more height than the
screen has (the Train form alone is taller than a 768 px screen), and however a widget
is opened (``specimask gui``, or one by one from *Plugins › specimask*) it joins the other
specimask docks as a tab, named by its short title, with tab names shown whole.
"""

from __future__ import annotations

from qtpy.QtCore import QEvent, Qt, QTimer
from qtpy.QtWidgets import (
    QDockWidget,
    QFrame,
    QMainWindow,
    QScrollArea,
    QTabBar,
    QVBoxLayout,
    QWidget,
)


class DockWidget(QWidget):
    """A specimask dock's widget: build the content in ``self.body``."""

    tab_name = ""  # the tab's text ("Train", not "Train (napari-specimask)")

    def __init__(self):
        super().__init__()
        self.body = QWidget()
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.body)
        self.scroll = scroll
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def event(self, event):
        if event.type() == QEvent.Type.ParentChange and self.parent() is not None:
            QTimer.singleShot(0, self._join_tabs)  # once napari has placed the dock
        return super().event(event)

    def _join_tabs(self) -> None:
        try:
            join_specimask_tabs(self)
            self.docked()
        except RuntimeError:  # deleted before the timer fired
            pass

    def docked(self) -> None:
        """Called once the widget sits in a window (for what needs the window)."""

    def showEvent(self, event) -> None:
        """The window has its size now: widen the docks for the tab names if it can."""
        super().showEvent(event)
        window = self.window()
        if isinstance(window, QMainWindow):
            QTimer.singleShot(0, lambda: _readable_if_alive(window))


def _dock_of(widget: QWidget) -> QDockWidget | None:
    parent = widget.parent()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parent()
    return parent


def join_specimask_tabs(widget: DockWidget) -> None:
    """Tab ``widget``'s dock with the other specimask docks of its window and raise it."""
    dock = _dock_of(widget)
    window = dock.parent() if dock is not None else None
    if not isinstance(window, QMainWindow):
        return
    if widget.tab_name:
        dock.setWindowTitle(widget.tab_name)
    if dock.property("specimask_joined"):  # once per dock (the launcher's, then the
        readable_tabs(window)               # timer's; a hidden window lists no tabs)
        return
    dock.setProperty("specimask_joined", True)
    others = [d for d in window.findChildren(QDockWidget)
              if d is not dock and not d.isFloating() and d.isVisibleTo(window)
              and isinstance(_inner(d), DockWidget)
              and window.dockWidgetArea(d) == window.dockWidgetArea(dock)]
    if others and not window.tabifiedDockWidgets(dock):  # not yet among the tabs
        window.tabifyDockWidget(others[-1], dock)
        dock.show()
        dock.raise_()  # the one just opened comes to the front
    readable_tabs(window)


def _inner(dock: QDockWidget):
    inner = getattr(dock, "inner_widget", None)
    try:
        return inner() if callable(inner) else dock.widget()
    except RuntimeError:
        return None


def readable_tabs(window: QMainWindow) -> None:
    """Seven tabs in a dock-wide bar: Qt cuts each name to 'Pr…'; show whole names and
    let the bar scroll instead (arrows at its end), and widen the docks so that every
    name is in view where the window has room for it (up to ``MAX_SHARE`` of its width:
    all seven need about 470 px)."""
    for bar in window.findChildren(QTabBar):
        bar.setElideMode(Qt.TextElideMode.ElideNone)
        bar.setUsesScrollButtons(True)
        docks = [d for d in window.findChildren(QDockWidget)
                 if d.windowTitle() in {bar.tabText(i) for i in range(bar.count())}
                 and isinstance(_inner(d), DockWidget)]
        if not docks:
            continue
        names = sum(bar.tabRect(i).width() for i in range(bar.count())) + 12
        want = min(names, int(MAX_SHARE * window.width()))
        if min(d.width() for d in docks) < want:  # the one in front is laid out
            window.resizeDocks(docks, [want] * len(docks), Qt.Orientation.Horizontal)


MAX_SHARE = 0.4  # of the window's width, at most, for the specimask docks


def _readable_if_alive(window: QMainWindow) -> None:
    try:
        readable_tabs(window)
    except RuntimeError:  # the window closed before the timer fired
        pass
