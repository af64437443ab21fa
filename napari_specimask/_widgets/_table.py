"""A sortable Qt table over plain rows, for tables of a few hundred rows at most."""

from __future__ import annotations

from qtpy.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt


class RowsModel(QAbstractTableModel):
    def __init__(self, columns: tuple[str, ...], parent=None, tips: dict | None = None):
        super().__init__(parent)
        self.columns = columns
        self.tips = tips or {}  # a column's header tooltip: what its figures mean
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
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self.tips.get(self.columns[section])
        return None


def sortable(model: RowsModel, parent=None) -> QSortFilterProxyModel:
    """Sortable by any column, numbers as numbers (for the small tables: Active
    learning's batch, the models, QA; the Project table sorts in SQL, ``_image_table``)."""
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(Qt.ItemDataRole.UserRole)
    return proxy
