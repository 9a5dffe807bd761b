"""Failures reach QGIS's message bar with messages that say what is wrong (and never the token)."""

from __future__ import annotations

from typing import Any

from conftest import TOKEN, start_sandbox, wait_idle
from qgis.core import Qgis


def _critical(iface: Any) -> list[str]:
    return list(iface.messageBar().get_messages(Qgis.Critical))


def test_test_connection_succeeds(dock: Any, qtbot: Any, qgis_iface: Any) -> None:
    dock.w.test_button.click()
    wait_idle(qtbot, dock)
    assert any("Connected to" in m for m in qgis_iface.messageBar().get_messages(Qgis.Success))
    assert dock.w.connection_status.text().startswith("Connected")


def test_bad_token_is_reported(dock: Any, qtbot: Any, qgis_iface: Any) -> None:
    dock.w.token_edit.setText("not-the-right-token-000000000")
    dock.w.test_button.click()
    wait_idle(qtbot, dock)
    messages = _critical(qgis_iface)
    assert len(messages) == 1
    assert "Connection failed" in messages[0] and "token" in messages[0].lower()
    assert any(code in messages[0] for code in ("401", "403"))
    assert "not-the-right-token" not in messages[0] and TOKEN not in messages[0]


def test_stopped_sandbox_is_reported(dock: Any, qtbot: Any, qgis_iface: Any, tmp_path: Any) -> None:
    other = start_sandbox(tmp_path / "short-lived")
    url = other.url
    other.stop()
    dock.w.url_edit.setText(url)
    dock.w.test_button.click()
    wait_idle(qtbot, dock)
    messages = _critical(qgis_iface)
    assert len(messages) == 1
    assert "Connection failed" in messages[0]
    assert "Check the API URL and your network connection" in messages[0]


def test_search_without_token_says_where_to_set_it(plugin: Any, qtbot: Any, qgis_iface: Any) -> None:
    from pixxel_plugin import settings

    settings.save_settings(settings.ConnectionSettings(api_url="http://127.0.0.1:9", authcfg=""))
    dock = plugin.dock
    dock._load()
    dock.search()
    wait_idle(qtbot, dock)
    messages = _critical(qgis_iface)
    assert len(messages) == 1 and "No Pixxel API token is set" in messages[0]
