"""Closing napari with unsaved edits: the Annotate widget settles them first."""

from __future__ import annotations

import weakref

from napari.utils.notifications import show_warning
from qtpy.QtCore import QEvent, QObject
from qtpy.QtWidgets import QMainWindow


class QuitGuard(QObject):
    """Closing napari settles the canvas's edits first, by the setting.

    The window's close button, File › Close Window and Quit reach the main window as a
    close event that can still be refused: in 'ask' mode Cancel keeps napari open.
    ``viewer.close()`` from a script tears the viewer down before its window closes, so
    it cannot be refused: it reaches the viewer's canvas first, and gets Save / Discard.
    Both windows are held weakly (a strong reference would keep a closed viewer alive).
    """

    def __init__(self, annotate, main: QMainWindow):
        super().__init__(annotate)
        self.annotate = annotate
        self.main = weakref.ref(main)
        inner = self._canvas_widget(main)
        for w in (main, inner):
            if w is not None:
                w.installEventFilter(self)

    @staticmethod
    def _canvas_widget(main: QMainWindow):
        """napari's viewer widget: the first in the main window's central widget."""
        center = main.centralWidget()
        layout = center.layout() if center is not None else None
        item = layout.itemAt(0) if layout is not None and layout.count() else None
        return item.widget() if item is not None else None

    def eventFilter(self, obj, event):
        if event.type() != QEvent.Type.Close:
            return False
        main = self.main()
        if main is None or (obj is not main and obj is not self._canvas_widget(main)):
            return False
        try:
            annotate = self.annotate
            if not annotate.settle("napari is closing: save your edits to this mask?",
                                   can_stay=obj is main):
                event.ignore()
                return True  # the person stays: napari never sees the close
            annotate.writes.flush()
        except RuntimeError:  # the widget is already gone
            return False
        except Exception as exc:  # noqa: BLE001 - never block napari from closing
            show_warning(f"specimask: could not settle the edits before closing: {exc}")
        return False
