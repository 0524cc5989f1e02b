"""Directories of the package's stores, private to the user who runs it.

Cache entries, ledger rows and their journals say what a team asked its models and
what it paid; only the user running the app may read them. Files are created 0600
where they are made; directories, and every missing parent a store path implies
(``diskcache:///srv/app/cache/answers`` may create ``cache`` too), 0700. Parents made
by ``mkdir(parents=True)`` get the umask's default instead: 0777 under a umask of 0,
world-writable, so another user could swap a directory underneath the store.
"""

from __future__ import annotations

from pathlib import Path


def make_private_dir(directory: Path) -> None:
    """Create ``directory`` and its missing parents owner-only (0700)."""
    missing = [parent for parent in (directory, *directory.parents) if not parent.exists()]
    for parent in reversed(missing):
        try:
            parent.mkdir(mode=0o700)
        except FileExistsError:  # another process or thread made it first
            continue
        parent.chmod(0o700)  # a umask such as 0277 would leave it unwritable to us
