"""Directories of the package's stores, private to the user who runs it.

Cache entries, ledger rows and their journals say what a team asked its models and
what it paid; only the user running the app may read them. Files are created 0600
where they are made; directories, and every missing parent a store path implies
(``diskcache:///srv/app/cache/answers`` may create ``cache`` too), 0700. Parents made
by ``mkdir(parents=True)`` get the umask's default instead: 0777 under a umask of 0,
world-writable, so another user could swap a directory underneath the store.

What the command line writes whole (a report page, a policy) is as private: it holds a
team's tasks and spend. `write_private_file` writes it; `open_private` opens a file
that is appended to or rewritten in place (collected outcomes).
"""

from __future__ import annotations

import contextlib
import os
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


def open_private(path: Path, flags: int) -> int:
    """``os.open(path, flags | O_CREAT)``, the file only its owner may read (0600).

    A new file is made 0600 whatever the umask; one already there is made 0600 too (an
    ``--out`` file made beforehand with ``touch`` was 0644), as what goes into it is as
    private. Another user's file keeps its mode: that is its owner's to set.
    """
    descriptor = os.open(path, flags | os.O_CREAT, 0o600)
    with contextlib.suppress(PermissionError):  # another user's file
        os.fchmod(descriptor, 0o600)
    return descriptor


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` as a file only its owner may read (0600).

    The text goes to a new 0600 file beside ``path``, which then replaces it, so the
    mode is 0600 whatever the umask and whatever mode a file already there had (a page
    written under the usual umask 022 was 0644), and a reader sees the old file or the
    new one whole, never half a policy. A symlink is written through, to its file.
    """
    target = Path(os.path.realpath(path))
    temporary = target.with_name(f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
        temporary.chmod(0o600)  # a umask such as 0277 would leave it 0400
        os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
