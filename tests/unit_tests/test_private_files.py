"""`write_private_file` and `open_private`: 0600 under any umask, an existing file too."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from langchain_costrouter._private_files import open_private, write_private_file


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277])
def test_the_file_is_0600_whatever_the_umask(umask: int, tmp_path: Path) -> None:
    previous = os.umask(umask)
    try:
        write_private_file(tmp_path / "page.html", "<p>spend</p>")
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "page.html") == 0o600
    assert (tmp_path / "page.html").read_text() == "<p>spend</p>"


def test_a_symlink_is_written_through_to_its_file(tmp_path: Path) -> None:
    target, link = tmp_path / "policy.json", tmp_path / "current.json"
    target.write_text("old")
    target.chmod(0o644)
    link.symlink_to(target)
    write_private_file(link, "new")
    assert link.is_symlink()
    assert target.read_text() == "new" and _mode(target) == 0o600


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_beside_it(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text("old")
    with pytest.raises(UnicodeEncodeError):
        write_private_file(path, "lone surrogate \ud800")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["policy.json"]


@pytest.mark.parametrize("umask", [0o022, 0o277])
def test_open_private_makes_a_new_file_0600_whatever_the_umask(umask: int, tmp_path: Path) -> None:
    previous = os.umask(umask)
    try:
        os.close(open_private(tmp_path / "outcomes.jsonl", os.O_WRONLY | os.O_APPEND))
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "outcomes.jsonl") == 0o600


def test_open_private_tightens_an_existing_file_and_keeps_what_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "outcomes.jsonl"
    path.write_text("line 1\n")
    path.chmod(0o644)
    with os.fdopen(open_private(path, os.O_WRONLY | os.O_APPEND), "a") as out:
        out.write("line 2\n")
    assert _mode(path) == 0o600
    assert path.read_text() == "line 1\nline 2\n"
