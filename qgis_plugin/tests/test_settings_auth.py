"""Settings and the token: only the auth config id goes to QSettings; the token lives in the auth DB."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from conftest import TOKEN
from qgis.core import QgsApplication, QgsSettings


def _settings_files() -> list[Path]:
    QgsSettings().sync()
    folder = Path(QgsSettings().fileName()).parent.parent  # the profile folder
    return [p for p in folder.rglob("*") if p.is_file() and p.suffix in (".ini", ".conf", "")]


def test_token_round_trips_through_the_auth_database_only(plugin: Any, qtbot: Any) -> None:
    from pixxel_plugin import settings

    dock = plugin.dock
    dock.w.url_edit.setText("http://127.0.0.1:9/  ")
    dock.w.token_edit.setText(f"  {TOKEN}  ")
    dock.w.save_button.click()

    saved = settings.load_settings()
    assert saved.api_url == "http://127.0.0.1:9"
    assert len(saved.authcfg) == 7
    assert settings.read_token(saved.authcfg) == TOKEN
    assert dock.w.token_edit.text() == ""  # the secret does not linger in the widget
    assert saved.authcfg in QgsApplication.authManager().configIds()

    # A new token updates the same auth config.
    dock.w.token_edit.setText(TOKEN + "-rotated")
    assert dock.save_connection()
    assert settings.load_settings().authcfg == saved.authcfg
    assert settings.read_token(saved.authcfg) == TOKEN + "-rotated"

    # The settings survive a reload of the panel; the token is in no settings file.
    dock._load()
    assert dock.w.url_edit.text() == "http://127.0.0.1:9"
    files = _settings_files()
    ini = Path(QgsSettings().fileName())
    assert ini in files and saved.authcfg in ini.read_text()
    for path in files:
        assert TOKEN.encode() not in path.read_bytes(), path


def test_bad_url_is_refused_with_a_message(plugin: Any, qgis_iface: Any) -> None:
    from qgis.core import Qgis

    dock = plugin.dock
    dock.w.url_edit.setText("ftp://example")
    assert not dock.save_connection()
    assert any("must start with https://" in m for m in qgis_iface.messageBar().get_messages(Qgis.Critical))
