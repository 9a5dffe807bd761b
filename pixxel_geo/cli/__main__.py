"""``python -m pixxel_geo.cli``: the same as the ``pixxel-geo`` command."""

import sys

from pixxel_geo.cli import main

sys.exit(main())
