"""Where the client's settings come from: arguments, environment, config file.

Precedence, first found wins:

- API key: the ``api_key`` argument, ``PIXXEL_API_KEY``, then ``api_key`` in the
  config file.
- Base URL: the ``base_url`` argument, ``PIXXEL_API_URL``, ``base_url`` in the
  config file, then ``https://api.pixxel.space``.

Values are stripped of surrounding whitespace first; a blank value (``"  "``)
counts as not set, so it does not hide the next source.

The config file is ``$PIXXEL_CONFIG`` or ``$XDG_CONFIG_HOME/pixxel/config.toml``
(``~/.config/pixxel/config.toml``)::

    api_key = "..."
    base_url = "https://api.pixxel.space"
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from pixxel_geo.api.errors import ConfigurationError
from pixxel_geo.api.redact import mask_token
from pixxel_geo.api.retry import RetryPolicy

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_TIMEOUT",
    "ClientConfig",
    "check_base_url",
    "config_file_path",
    "resolve_config",
]

DEFAULT_BASE_URL = "https://api.pixxel.space"
DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class ClientConfig:
    """Everything needed to build a client; plain, frozen and picklable.

    Worker processes (dask, QGIS tasks) rebuild clients from it with
    ``Client.from_config(config)``. Its repr never shows the key.
    """

    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = field(default=None, repr=False)
    api_key_source: str = "nowhere"
    """Where the key was read from, for error messages (never the key itself)."""
    timeout: float = DEFAULT_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        check_base_url(self.base_url)
        _check_timeout(self.timeout)
        if not isinstance(self.retry, RetryPolicy):
            raise ConfigurationError(f"retry must be a RetryPolicy, got {type(self.retry).__name__}.")

    def __repr__(self) -> str:
        return (
            f"ClientConfig(base_url={self.base_url!r}, api_key={mask_token(self.api_key)}, "
            f"api_key_source={self.api_key_source!r}, timeout={self.timeout!r})"
        )


def config_file_path() -> Path:
    """The config file consulted when no argument or environment variable is set."""
    explicit = os.environ.get("PIXXEL_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "pixxel" / "config.toml"


def _read_config_file(path: Path) -> dict[str, object]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(
            f"Cannot read the pixxel config file {path}: {exc.__class__.__name__}. "
            "Fix or remove it, or pass api_key= / set PIXXEL_API_KEY."
        ) from None


def resolve_config(
    api_key: str | None = None,
    base_url: str | None = None,
    timeout: float | None = None,
    retry: RetryPolicy | None = None,
) -> ClientConfig:
    """Resolve settings from arguments, environment and config file.

    A missing key is not an error here (``/ping`` needs none); requests that
    need one fail with a message saying where keys are looked for.

    Example:
        >>> resolve_config(api_key="k", base_url="http://127.0.0.1:8000/").base_url
        'http://127.0.0.1:8000'
    """
    for name, value in (("api_key", api_key), ("base_url", base_url)):
        if value is not None and not isinstance(value, str):
            raise ConfigurationError(f"{name} must be a string, got {type(value).__name__}.")
    file_values: dict[str, object] | None = None

    def from_file(key: str) -> str | None:
        nonlocal file_values
        if file_values is None:
            file_values = _read_config_file(config_file_path())
        value = file_values.get(key)
        return _clean(str(value)) if value else None

    source = "nowhere"
    key = _clean(api_key)
    if key:
        source = "the api_key argument"
    elif key := _clean(os.environ.get("PIXXEL_API_KEY")):
        source = "the PIXXEL_API_KEY environment variable"
    else:
        key = from_file("api_key")
        if key:
            source = f"the config file {config_file_path()}"

    url = _clean(base_url) or _clean(os.environ.get("PIXXEL_API_URL")) or from_file("base_url") or DEFAULT_BASE_URL
    check_base_url(url)
    if timeout is not None:
        _check_timeout(timeout)
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ConfigurationError(f"retry must be a RetryPolicy, got {type(retry).__name__}.")
    return ClientConfig(
        base_url=url.rstrip("/"),
        api_key=key,
        api_key_source=source,
        timeout=DEFAULT_TIMEOUT if timeout is None else float(timeout),
        retry=retry or RetryPolicy(),
    )


def check_base_url(url: object) -> None:
    """Refuse an API URL that is not ``http(s)://host[:port][/path]``, naming what is wrong.

    Raises:
        ConfigurationError: not http(s), spaces or control characters, a bad port, no host.

    Example:
        >>> check_base_url("http://127.0.0.1:8000")
        >>> check_base_url("http://127.0.0.1:abc")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pixxel_geo.api.errors.ConfigurationError: The API URL 'http://127.0.0.1:abc' is not valid (Invalid port: ...
    """
    example = f"Use e.g. {DEFAULT_BASE_URL}."
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"The API URL {url!r} is not an http(s) URL. {example}")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise ConfigurationError(f"The API URL {url!r} holds a space or a control character: remove it. {example}")
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"The API URL {url!r} is not valid ({exc}). {example}") from None
    if not parsed.host:
        raise ConfigurationError(f"The API URL {url!r} names no host. {example}")
    if parsed.port is not None and not 0 < parsed.port < 65536:
        raise ConfigurationError(f"The API URL {url!r} has port {parsed.port}, outside 1–65535. {example}")
    if parsed.query or parsed.fragment:
        raise ConfigurationError(f"The API URL {url!r} has a query or fragment; give only scheme, host and path.")


def _clean(value: str | None) -> str | None:
    """``value`` stripped; ``None`` when nothing is left."""
    return (value.strip() or None) if isinstance(value, str) else None


def _check_timeout(timeout: object) -> None:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not math.isfinite(timeout) or timeout <= 0:
        raise ConfigurationError(
            f"timeout={timeout!r}: give the seconds each request may take, a number > 0 (default {DEFAULT_TIMEOUT:g})."
        )
