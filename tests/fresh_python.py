"""Code run in a fresh interpreter, for what a warm test process cannot show: which
modules an import loads, and how long it takes."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def fresh_python(code: str) -> Any:
    """Run ``code`` in a new interpreter; return the JSON value of the last line it prints.

    The child inherits this environment (``PYTHONPATH`` included), so it imports the
    same checkout as the tests.
    """
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(done.stdout.splitlines()[-1])
