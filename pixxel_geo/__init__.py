"""pixxel-geo: Pixxel hyperspectral imagery straight into your work."""

from __future__ import annotations

import logging

from pixxel_geo.api.errors import *  # noqa: F403  (re-exported; the list is errors.__all__)
from pixxel_geo.api.events import Event, Failed, Finished, Progress, Started, StateChanged

__version__ = "0.1.0"

logging.getLogger("pixxel_geo").addHandler(logging.NullHandler())
