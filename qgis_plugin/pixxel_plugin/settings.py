"""Where the plugin keeps its settings: QSettings for plain values, QGIS's auth database for the token.

Only the 7-character auth config id goes into QSettings (``pixxel/authcfg``);
the token itself is stored as the password of a ``Basic`` auth config, which
QGIS encrypts with the user's master password. QGIS 3.22 has no "API header"
auth method, so the plugin reads the token back and sets the header itself
(through the core client).
"""

from __future__ import annotations

from dataclasses import dataclass

from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsSettings

__all__ = [
    "DEFAULT_API_URL",
    "AuthStorageError",
    "ConnectionSettings",
    "clear_token",
    "load_settings",
    "read_token",
    "save_settings",
    "store_token",
]

DEFAULT_API_URL = "https://api.pixxel.space"
_PREFIX = "pixxel"
_AUTH_NAME = "Pixxel API token"
_AUTH_METHOD = "Basic"
_AUTH_USER = "pixxel-api"


class AuthStorageError(RuntimeError):
    """The token could not be stored in, or read from, QGIS's authentication database."""


@dataclass(frozen=True)
class ConnectionSettings:
    """The plugin's plain settings (never the token)."""

    api_url: str = DEFAULT_API_URL
    authcfg: str = ""
    download_folder: str = ""
    store_id: str = ""


def load_settings() -> ConnectionSettings:
    """Read the plugin's settings from QSettings (defaults when unset).

    Example:
        >>> load_settings().api_url  # doctest: +SKIP
        'https://api.pixxel.space'
    """
    s = QgsSettings()
    return ConnectionSettings(
        api_url=str(s.value(f"{_PREFIX}/api_url", DEFAULT_API_URL) or DEFAULT_API_URL),
        authcfg=str(s.value(f"{_PREFIX}/authcfg", "") or ""),
        download_folder=str(s.value(f"{_PREFIX}/download_folder", "") or ""),
        store_id=str(s.value(f"{_PREFIX}/store_id", "") or ""),
    )


def save_settings(settings: ConnectionSettings) -> None:
    """Write the plugin's settings to QSettings (and flush them to disk)."""
    s = QgsSettings()
    s.setValue(f"{_PREFIX}/api_url", settings.api_url.strip().rstrip("/") or DEFAULT_API_URL)
    s.setValue(f"{_PREFIX}/authcfg", settings.authcfg)
    s.setValue(f"{_PREFIX}/download_folder", settings.download_folder)
    s.setValue(f"{_PREFIX}/store_id", settings.store_id)
    s.sync()


def _auth_manager_ready() -> None:
    manager = QgsApplication.authManager()
    if manager.isDisabled():
        raise AuthStorageError(
            "QGIS's authentication system is disabled (missing Qt SQL/crypto support): "
            "the token cannot be stored safely."
        )
    # In the QGIS app this asks the user for the master password if needed.
    if not manager.masterPasswordIsSet() and not manager.setMasterPassword(True):
        raise AuthStorageError(
            "QGIS's authentication database is locked: set or enter the master password "
            "(Settings > Options > Authentication) and try again."
        )


def store_token(token: str, authcfg: str = "") -> str:
    """Store ``token`` in QGIS's auth database; return the auth config id.

    Args:
        token: the Pixxel API token.
        authcfg: an existing config id to update (a new config is made when empty or gone).

    Returns:
        The auth config id to keep in settings.

    Raises:
        AuthStorageError: no master password, or the database refused the write.

    Example:
        >>> cfg = store_token("my-token")  # doctest: +SKIP
        >>> read_token(cfg) == "my-token"  # doctest: +SKIP
        True
    """
    token = token.strip()
    if not token:
        raise AuthStorageError("The token is empty: paste your Pixxel API token.")
    _auth_manager_ready()
    manager = QgsApplication.authManager()
    config = QgsAuthMethodConfig(_AUTH_METHOD)
    exists = bool(authcfg) and authcfg in manager.configIds()
    if exists:
        manager.loadAuthenticationConfig(authcfg, config, True)
    config.setName(_AUTH_NAME)
    config.setMethod(_AUTH_METHOD)
    config.setConfig("username", _AUTH_USER)
    config.setConfig("password", token)
    ok = manager.updateAuthenticationConfig(config) if exists else manager.storeAuthenticationConfig(config)
    if not ok or not config.id():
        raise AuthStorageError("QGIS's authentication database refused to store the token: check the master password.")
    return str(config.id())


def read_token(authcfg: str) -> str | None:
    """Return the token kept under ``authcfg`` (None when unset or missing).

    Raises:
        AuthStorageError: the auth database is locked (no master password).
    """
    if not authcfg:
        return None
    _auth_manager_ready()
    manager = QgsApplication.authManager()
    if authcfg not in manager.configIds():
        return None
    config = QgsAuthMethodConfig()
    if not manager.loadAuthenticationConfig(authcfg, config, True):
        raise AuthStorageError("QGIS could not decrypt the stored token: check the master password.")
    return str(config.config("password", "")) or None


def clear_token(authcfg: str) -> None:
    """Remove the auth config holding the token (no error when it is already gone)."""
    if authcfg and authcfg in QgsApplication.authManager().configIds():
        QgsApplication.authManager().removeAuthenticationConfig(authcfg)
