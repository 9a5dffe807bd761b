"""The plugin's entry object: menu and toolbar action, the dock, re-signing when a project opens."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Any

from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QIcon
from qgis.PyQt.QtWidgets import QAction

from . import layers
from .panel import PixxelDock
from .processing_provider import PixxelProvider
from .tasks import TaskRunner

__all__ = ["PixxelPlugin"]

MENU = "&Pixxel"


class PixxelPlugin:
    """What QGIS loads (through :func:`pixxel_plugin.classFactory`).

    Args:
        iface: QGIS's ``QgisInterface``.
    """

    def __init__(self, iface: Any) -> None:
        self.iface = iface
        self.runner: TaskRunner | None = None
        self.dock: PixxelDock | None = None
        self.action: QAction | None = None
        self.provider: PixxelProvider | None = None

    def initGui(self) -> None:
        """Create the action and the (hidden) dock; watch for projects being opened."""
        self.runner = TaskRunner()
        self.dock = PixxelDock(self.iface, self.runner)
        self.iface.addDockWidget(Qt.RightDockWidgetArea, self.dock)
        self.dock.hide()
        icon = QIcon(str(Path(__file__).with_name("icon.svg")))
        self.action = QAction(icon, "Pixxel imagery", self.iface.mainWindow())
        self.action.setObjectName("PixxelShowPanel")
        self.action.setCheckable(True)
        self.action.toggled.connect(self.dock.setVisible)
        self.dock.visibilityChanged.connect(self.action.setChecked)
        self.iface.addToolBarIcon(self.action)
        self.iface.addPluginToMenu(MENU, self.action)
        QgsProject.instance().readProject.connect(self.project_read)
        self.initProcessing()

    def initProcessing(self) -> None:
        """Add the Pixxel algorithms to the Processing toolbox (once)."""
        if self.provider is None:
            self.provider = PixxelProvider(self)
            QgsApplication.processingRegistry().addProvider(self.provider)

    def project_read(self, *_: Any) -> None:
        """Point the streamed layers of a project just opened at this session's local range server."""
        if self.dock is None:
            return
        saved = layers.pixxel_layers(QgsProject.instance().mapLayers().values())
        if saved:
            self.dock.restore_layers(saved)

    def unload(self) -> None:
        """Remove everything initGui added and cancel running tasks."""
        with contextlib.suppress(TypeError):  # not connected (initGui failed half-way)
            QgsProject.instance().readProject.disconnect(self.project_read)
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self.runner is not None:
            self.runner.cancel_all()
        if self.action is not None:
            self.iface.removePluginMenu(MENU, self.action)
            self.iface.removeToolBarIcon(self.action)
            self.action.deleteLater()
            self.action = None
        if self.dock is not None:
            self.dock.close_stream()
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        # QGIS forgets the modules its import hook saw; vendored ones imported lazily on other
        # threads (httpcore's connection backends, first used by the local server) go too.
        vendor = f"{__package__}._vendor"
        for name in [m for m in sys.modules if m == vendor or m.startswith(vendor + ".")]:
            del sys.modules[name]
