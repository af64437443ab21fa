"""A sortable, filterable Qt table over plain rows (Qt's model/view, fast at 10k rows)."""

from __future__ import annotations

from qtpy.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt


class RowsModel(QAbstractTableModel):
    def __init__(self, columns: tuple[str, ...], parent=None):
        super().__init__(parent)
        self.columns = columns
        self.rows: list[tuple] = []

    def set_rows(self, rows: list[tuple]) -> None:
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()):  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()):  # noqa: B008
        return len(self.columns)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        value = self.rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if value is None:
                return ""
            return f"{value:.4f}" if isinstance(value, float) else str(value)
        if role == Qt.ItemDataRole.UserRole:  # for sorting: numbers as numbers
            return -1.0 if value is None else value
        return None

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section]
        return None


class WordFilter(QSortFilterProxyModel):
    """Rows that match every word of the filter: a word matches a cell equal to it
    (case aside), or part of a cell in a ``contains`` column (a file name). So
    "labeled" finds labelled images and not "unlabeled" ones, and "pool herbarium_01"
    narrows to pool images whose name holds "herbarium_01"."""

    def __init__(self, contains: tuple[int, ...] = (), parent=None):
        super().__init__(parent)
        self.contains = contains
        self.words: list[str] = []

    def set_text(self, text: str) -> None:
        self.words = text.lower().split()
        self.invalidateFilter()

    def filterAcceptsRow(self, row, parent):
        if not self.words:
            return True
        model = self.sourceModel()
        cells = [str(model.data(model.index(row, c, parent)) or "").lower()
                 for c in range(model.columnCount())]
        return all(any(word == cell or (c in self.contains and word in cell)
                       for c, cell in enumerate(cells)) for word in self.words)


def sortable(model: RowsModel, parent=None, contains: tuple[int, ...] = ()) -> WordFilter:
    """Sortable (numbers as numbers) and filterable by words (``WordFilter.set_text``)."""
    proxy = WordFilter(contains, parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(Qt.ItemDataRole.UserRole)
    return proxy
