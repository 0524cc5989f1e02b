"""``python -m langchain_costrouter``: the ``costrouter`` command without relying on PATH."""

import sys

from langchain_costrouter.cli import main

sys.exit(main())
