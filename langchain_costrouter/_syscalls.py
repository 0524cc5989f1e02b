"""System calls on a routed call's path: two made without letting go of the GIL, one not made.

``os.write`` and ``fcntl.lockf`` release the GIL around their system call, as they
must for calls that may block. On a routed call's path the two made per call (the
coalescing leader's lock on a byte of the cache's lock file, and the ledger journal's
append to a file in the page cache) take a few microseconds in the kernel, but under
load the thread that lets go of the GIL gets it back only after the other threads of
the process (LangChain's executor, the cache and ledger writers) have had their turn:
profiled at 64 calls in flight, these two calls cost about 1.5 ms of waiting per
routed call, more than everything else the router adds.

So on Linux (64-bit) both go through libc with ctypes' ``PyDLL``, which keeps the GIL
across the call. The lock is only ever tried (``F_SETLK``, never ``F_SETLKW``), so
it cannot block; a regular file's write lands in the page cache. Elsewhere, or if
libc cannot be loaded, the standard library's functions are used unchanged.

The process id is asked for several times per call (to notice a fork) and is a system
call each time; `pid` answers from a copy that a forked child renews.
"""

from __future__ import annotations

import ctypes
import errno
import os
import sys

_LINUX_64 = sys.platform == "linux" and sys.maxsize > 2**32
_F_SETLK = 6
_F_WRLCK = 1
_F_UNLCK = 2
_SEEK_SET = 0


class _Flock(ctypes.Structure):
    """Linux's ``struct flock`` on 64-bit platforms (``off_t`` is 64 bits there)."""

    _fields_ = (
        ("l_type", ctypes.c_short),
        ("l_whence", ctypes.c_short),
        ("l_start", ctypes.c_int64),
        ("l_len", ctypes.c_int64),
        ("l_pid", ctypes.c_int32),
    )


def _libc() -> ctypes.PyDLL | None:
    if not _LINUX_64:
        return None
    try:
        libc = ctypes.PyDLL(None, use_errno=True)  # PyDLL: the GIL stays held
        libc.fcntl.argtypes = (ctypes.c_int, ctypes.c_int, ctypes.POINTER(_Flock))
        libc.fcntl.restype = ctypes.c_int
        libc.write.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t)
        libc.write.restype = ctypes.c_ssize_t
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()
_PID = os.getpid()


def pid() -> int:
    """This process's id without a system call (glibc no longer caches it).

    Objects that must notice a fork (write-behind queues, lock tables, the ledger's
    writer) ask on every call; a forked child renews the cached id before it runs.
    """
    return _PID


def _renew_pid() -> None:
    global _PID
    _PID = os.getpid()


if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork either
    os.register_at_fork(after_in_child=_renew_pid)


def try_lock_byte(fd: int, offset: int) -> bool:
    """Take an exclusive record lock on one byte of ``fd`` if no other process holds it."""
    if _LIBC is None:
        import fcntl  # here: Windows has no fcntl, and never locks files this way

        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, offset)
        except (BlockingIOError, PermissionError):
            return False
        return True
    if _set_lock(fd, _F_WRLCK, offset) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EAGAIN, errno.EACCES):
        return False
    raise OSError(code, os.strerror(code))


def unlock_byte(fd: int, offset: int) -> None:
    """Release this process's record lock on one byte of ``fd``."""
    if _LIBC is None:
        import fcntl

        fcntl.lockf(fd, fcntl.LOCK_UN, 1, offset)
        return
    if _set_lock(fd, _F_UNLCK, offset) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def write(fd: int, data: bytes) -> int:
    """Write ``data`` to ``fd`` (a regular file); return the bytes written, like `os.write`."""
    if _LIBC is None:
        return os.write(fd, data)
    while True:
        written = int(_LIBC.write(fd, data, len(data)))
        if written >= 0:
            return written
        code = ctypes.get_errno()
        if code != errno.EINTR:
            raise OSError(code, os.strerror(code))


def _set_lock(fd: int, kind: int, offset: int) -> int:
    assert _LIBC is not None
    request = _Flock(kind, _SEEK_SET, offset, 1, 0)
    return int(_LIBC.fcntl(fd, _F_SETLK, ctypes.byref(request)))
