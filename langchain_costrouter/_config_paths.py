"""A store path written in a config file is the file's directory's, not the process's.

``ledger = "sqlite:///ledger.sqlite"`` or ``cache = "diskcache://cache"`` in a file would
otherwise land wherever the process was started (a service run from ``/`` writing there,
a second start from elsewhere finding an empty ledger), unlike ``policy``, which the
loader already reads beside the file. So a relative SQLite or diskcache path is made
absolute against the file's directory before any opener sees it; every other URL
(memory, Redis, Postgres, an absolute or ``~`` path, in-memory SQLite) is left as written.
Arguments given in code are never rewritten: there the working directory is the caller's.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote, unquote

_SQLITE = re.compile(r"(?P<scheme>sqlite(?:\+\w+)?):///(?P<path>[^?]*)(?P<rest>.*)", re.I | re.S)
"""``sqlite:///PATH?query``: three slashes then a path, relative unless it starts with one
more (SQLAlchemy's reading, which the ledger, the budget store and the shadow tables use)."""
_DISKCACHE = re.compile(r"(?P<scheme>diskcache)://(?P<path>[^?]*)(?P<rest>.*)", re.I | re.S)
"""``diskcache://PATH?query``: the cache opener reads the directory as netloc + path."""


def anchored_url(url: str, directory: Path) -> str:
    """``url`` with a relative SQLite or diskcache path made absolute under ``directory``."""
    match = _SQLITE.fullmatch(url) or _DISKCACHE.fullmatch(url)
    if match is None or not _is_relative(match["path"]):
        return url
    base = quote(directory.absolute().as_posix(), safe="/")
    # sqlite:/// + an absolute POSIX base ("/srv/app") is SQLAlchemy's absolute form (four
    # slashes); diskcache:// + it is an empty netloc and an absolute path.
    separator = "://" if match.re is _DISKCACHE else ":///"
    return f"{match['scheme']}{separator}{base}/{match['path']}{match['rest']}"


def _is_relative(path: str) -> bool:
    """A path to anchor: not empty (in-memory SQLite, diskcache's temporary directory),
    ``:memory:``, a ``file:`` URI, ``~`` (the opener expands it) or absolute."""
    text = unquote(path)
    if not text or text == ":memory:" or text.startswith(("file:", "~", "/")):
        return False
    return not Path(text).is_absolute()
