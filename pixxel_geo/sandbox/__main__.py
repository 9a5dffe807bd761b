"""``python -m pixxel_geo.sandbox``: run the sandbox server."""

from __future__ import annotations

import sys

from pixxel_geo.sandbox.server import main

if __name__ == "__main__":
    sys.exit(main())
