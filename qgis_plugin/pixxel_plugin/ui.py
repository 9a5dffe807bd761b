"""The dock panel's widgets, built in code (no behaviour here; see :mod:`pixxel_plugin.panel`)."""

from __future__ import annotations

from qgis.PyQt.QtCore import QDate
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

__all__ = ["PanelWidgets"]


def _table(headers: list[str]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(headers)
    table.setSelectionBehavior(QAbstractItemView.SelectRows)
    table.setEditTriggers(QAbstractItemView.NoEditTriggers)
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
    return table


class PanelWidgets(QWidget):
    """Connection, search, results and actions sections of the Pixxel panel."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addWidget(self._connection_box())
        layout.addWidget(self._search_box())
        layout.addWidget(self._results_box(), 1)
        layout.addWidget(self._actions_box())

    def _connection_box(self) -> QGroupBox:
        box = QGroupBox("Connection")
        form = QFormLayout(box)
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("https://api.pixxel.space (or a sandbox URL to try it out)")
        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.Password)
        self.token_edit.setPlaceholderText("paste a token; it is kept in QGIS's authentication database")
        self.save_button = QPushButton("Save")
        self.test_button = QPushButton("Test connection")
        buttons = QHBoxLayout()
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.test_button)
        self.connection_status = QLabel("")
        self.connection_status.setWordWrap(True)
        form.addRow("API URL", self.url_edit)
        form.addRow("Token", self.token_edit)
        form.addRow(buttons)
        form.addRow(self.connection_status)
        return box

    def _search_box(self) -> QGroupBox:
        box = QGroupBox("Catalogs in the map extent")
        form = QFormLayout(box)
        self.date_filter = QCheckBox("Between")
        self.start_date = QDateEdit(QDate.currentDate().addYears(-1))
        self.end_date = QDateEdit(QDate.currentDate())
        for edit in (self.start_date, self.end_date):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
        dates = QHBoxLayout()
        dates.addWidget(self.start_date)
        dates.addWidget(QLabel("and"))
        dates.addWidget(self.end_date)
        self.cloud_spin = QDoubleSpinBox()
        self.cloud_spin.setRange(0.0, 100.0)
        self.cloud_spin.setValue(100.0)
        self.cloud_spin.setSuffix(" %")
        self.search_button = QPushButton("Search map extent")
        form.addRow(self.date_filter, dates)
        form.addRow("Max cloud cover", self.cloud_spin)
        form.addRow(self.search_button)
        return box

    def _results_box(self) -> QGroupBox:
        box = QGroupBox("Results")
        layout = QVBoxLayout(box)
        self.results = _table(["Item", "Date", "Cloud %"])
        self.results_status = QLabel("")
        layout.addWidget(self.results)
        layout.addWidget(self.results_status)
        return box

    def _actions_box(self) -> QGroupBox:
        box = QGroupBox("Selected catalogs")
        form = QFormLayout(box)
        self.add_button = QPushButton("Add to map (streamed)")
        form.addRow(self.add_button)
        self.store_combo = QComboBox()
        self.refresh_stores_button = QPushButton("Refresh")
        self.deliver_button = QPushButton("Deliver")
        stores = QHBoxLayout()
        stores.addWidget(self.store_combo, 1)
        stores.addWidget(self.refresh_stores_button)
        stores.addWidget(self.deliver_button)
        form.addRow("Store", stores)
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("folder for downloads")
        self.browse_button = QPushButton("…")
        self.download_button = QPushButton("Download")
        folder = QHBoxLayout()
        folder.addWidget(self.folder_edit, 1)
        folder.addWidget(self.browse_button)
        folder.addWidget(self.download_button)
        form.addRow("Folder", folder)
        self.deliveries = _table(["Item", "Delivery", "Status"])
        self.deliveries.setMaximumHeight(120)
        form.addRow(self.deliveries)
        return box
