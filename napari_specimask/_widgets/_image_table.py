"""The Project tab's image table: its order comes from SQLite as ids, its rows a page at a
time as they scroll into view, so a project of a million images opens and sorts without
holding a million rows (``core.store.overview``)."""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
from napari.utils.notifications import notification_manager
from qtpy.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal

from napari_specimask.core.store.overview import COLUMNS, TableQuery, ordered_ids, rows_of

PAGE = 200  # rows read at once
KEEP_PAGES = 50  # pages kept (the rest read again when scrolled back to)


class ImageTableModel(QAbstractTableModel):
    loaded = Signal()  # a new order (filter, sort, refresh) is shown
    busy = Signal(bool)  # an order is being read (True) or shown (False)
    _ordered = Signal(int, object)  # from the table's thread: (generation, ids)
    _failed = Signal(int, object)  # (generation, the error)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.project = None
        self.query = TableQuery()
        self.ids = np.empty(0, np.int64)
        self._pages: OrderedDict[int, dict[int, tuple]] = OrderedDict()
        self.generation = 0  # of the order asked for last
        self.loading = False  # an order is being read
        self._orderer = ThreadPoolExecutor(1, thread_name_prefix="specimask-table")
        self._ordered.connect(self._show)  # queued: emitted from the table's thread
        self._failed.connect(self._error)

    # -- what the widget calls ----------------------------------------------------------

    def set_project(self, project) -> None:
        if project is not self.project:  # never the last project's rows under this one's
            self.project = project
            self._show(self.generation, np.empty(0, np.int64))
        self.reload()

    def set_text(self, text: str) -> None:
        """Keep the rows that match every word (``TableQuery``)."""
        self.query = TableQuery.of(text, self.query.sort, self.query.descending)
        self.reload()

    def reload(self) -> None:
        """Read the order again (images, statuses, masks or models changed) in the table's
        own thread: sorting a million rows by score takes seconds, and napari's two or so
        worker threads stay free for training and prediction. The rows shown stay until
        the new order arrives; orders asked for meanwhile are skipped but the last."""
        self.generation += 1
        if self.project is None:
            self._show(self.generation, np.empty(0, np.int64))
            return
        self._set_busy(True)
        self._orderer.submit(self._order, self.project, self.query, self.generation)

    def close(self) -> None:
        """Stop the table's thread (pending orders are dropped)."""
        self._orderer.shutdown(wait=False, cancel_futures=True)

    def _order(self, project, query: TableQuery, generation: int) -> None:
        """In the table's thread: the ids in order, handed to the GUI thread by a signal.
        An order a newer one replaced, or of a project no longer shown, is dropped."""
        if generation != self.generation or project is not self.project:
            return
        try:
            ids = ordered_ids(project, query)
        except Exception as exc:  # noqa: BLE001 - shown in the GUI thread, not lost here
            if project is self.project:  # not the closed project's connection failing
                with contextlib.suppress(RuntimeError):
                    self._failed.emit(generation, exc)
            return
        with contextlib.suppress(RuntimeError):  # the widget is gone
            self._ordered.emit(generation, ids)

    def _show(self, generation: int, ids) -> None:
        if generation != self.generation:
            return  # a newer order is on its way
        self.beginResetModel()
        self.ids = ids
        self._pages.clear()
        self.endResetModel()
        self._set_busy(False)
        self.loaded.emit()

    def _error(self, generation: int, exc: Exception) -> None:
        if generation != self.generation:
            return  # a newer order is on its way
        self._set_busy(False)
        notification_manager.receive_error(type(exc), exc, exc.__traceback__)

    def _set_busy(self, busy: bool) -> None:
        self.loading = busy
        self.busy.emit(busy)

    def image_id(self, row: int) -> int:
        return int(self.ids[row])

    # -- Qt's model interface -------------------------------------------------------------

    def sort(self, column, order=Qt.SortOrder.AscendingOrder):
        self.query = replace(self.query, sort=COLUMNS[column],
                             descending=order == Qt.SortOrder.DescendingOrder)
        self.reload()

    def rowCount(self, parent=QModelIndex()):  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.ids)

    def columnCount(self, parent=QModelIndex()):  # noqa: B008
        return len(COLUMNS)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        image_id = self.image_id(index.row())
        row = self._page(index.row() // PAGE).get(image_id)
        value = row[index.column()] if row is not None else (image_id if index.column() == 0
                                                              else None)
        if value is None:
            return ""
        return f"{value:.4f}" if isinstance(value, float) else str(value)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def _page(self, page: int) -> dict[int, tuple]:
        if page in self._pages:
            self._pages.move_to_end(page)
            return self._pages[page]
        ids = self.ids[page * PAGE : (page + 1) * PAGE]
        rows = {r[0]: r for r in rows_of(self.project, ids)}
        self._pages[page] = rows
        if len(self._pages) > KEEP_PAGES:
            self._pages.popitem(last=False)
        return rows
