"""A faithful local emulator of the Pixxel API, with signed-URL file serving and faults.

Example:
    >>> from pixxel_geo.sandbox import Sandbox, SandboxSettings
    >>> with Sandbox.launch(data_dir="/tmp/sb", settings=SandboxSettings(bands=16, width=256,
    ...                     height=256)) as sb:  # doctest: +SKIP
    ...     print(sb.url, sb.token)

See ``pixxel_geo/sandbox/README.md`` for what it emulates and what it does not.
"""

from __future__ import annotations

from pixxel_geo.sandbox.launcher import Sandbox, SandboxStartError
from pixxel_geo.sandbox.settings import SandboxSettings

__all__ = ["Sandbox", "SandboxSettings", "SandboxStartError"]
