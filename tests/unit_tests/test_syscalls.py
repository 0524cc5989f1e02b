"""The GIL-keeping lock and write agree with the standard library's, in every process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from langchain_costrouter import _syscalls

_OTHER_PROCESS = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, int(sys.argv[2]))
except OSError:
    print("busy")
else:
    print("free")
"""


def seen_from_another_process(path: Path, offset: int) -> str:
    found = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, str(path), str(offset)],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip()


@pytest.fixture(params=["libc", "standard library"])
def syscalls(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> object:
    if request.param == "standard library":
        monkeypatch.setattr(_syscalls, "_LIBC", None)
    elif _syscalls._LIBC is None:
        pytest.skip("libc is used on 64-bit Linux only")
    return _syscalls


def test_a_byte_locked_here_is_busy_elsewhere_until_unlocked(
    tmp_path: Path, syscalls: object
) -> None:
    path = tmp_path / "locks"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    offset = 2**61 + 12345  # offsets are 62-bit hashes
    try:
        assert _syscalls.try_lock_byte(fd, offset)
        assert seen_from_another_process(path, offset) == "busy"
        assert seen_from_another_process(path, offset + 1) == "free"
        _syscalls.unlock_byte(fd, offset)
        assert seen_from_another_process(path, offset) == "free"
    finally:
        os.close(fd)


def test_a_byte_locked_elsewhere_is_refused_here(tmp_path: Path, syscalls: object) -> None:
    path = tmp_path / "locks"
    path.touch()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys\nfd = os.open(sys.argv[1], os.O_RDWR)\n"
            "fcntl.lockf(fd, fcntl.LOCK_EX, 1, 7)\nprint('held', flush=True)\nsys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    fd = os.open(path, os.O_RDWR)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        assert not _syscalls.try_lock_byte(fd, 7)
        holder.kill()
        holder.wait()
        assert _syscalls.try_lock_byte(fd, 7)  # the kernel dropped the dead holder's lock
    finally:
        os.close(fd)
        holder.kill()


def test_write_appends_and_reports_errors(tmp_path: Path, syscalls: object) -> None:
    path = tmp_path / "journal"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    assert _syscalls.write(fd, b"first\n") == 6
    assert _syscalls.write(fd, b"second\n") == 7
    os.close(fd)
    assert path.read_bytes() == b"first\nsecond\n"
    read_only = os.open(path, os.O_RDONLY)
    try:
        with pytest.raises(OSError, match="Bad file descriptor"):  # as os.write raises it
            _syscalls.write(read_only, b"refused")
    finally:
        os.close(read_only)


def test_the_process_id_is_cached_and_renewed_in_a_forked_child() -> None:
    assert _syscalls.pid() == os.getpid()
    child = os.fork()
    if child == 0:  # the child: exit 0 only if it sees its own id
        os._exit(0 if _syscalls.pid() == os.getpid() != os.getppid() else 1)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert _syscalls.pid() == os.getpid()
