"""Base files: a round trip of plain arrays, owner-only, and refused when damaged."""

from __future__ import annotations

import math
import stat
from pathlib import Path

import numpy as np
import pytest

from langchain_costrouter.cache.semantic_base import Merged, merge
from langchain_costrouter.cache.semantic_index import Rows, encode_entry
from langchain_costrouter.cache.semantic_snapshot import (
    MAGIC,
    SnapshotError,
    read_snapshot,
    write_snapshot,
)

PARTITION = "sem:v2:test"


def unit(*values: float) -> list[float]:
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


def merged(count: int = 5) -> Merged:
    lines = [encode_entry(f"v2:key{i}", f"question {i}?", unit(1, i, 2)) for i in range(count)]
    lines.append(encode_entry("v2:other", "another model", unit(1, 1)))
    return merge(None, Rows.empty().extended(lines), len(lines), "digest-of-the-last")


def test_a_written_base_reads_back_identical_and_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "p.base"
    source = merged()
    write_snapshot(path, PARTITION, source)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().startswith(MAGIC)
    base = read_snapshot(path, PARTITION)
    assert (base.length, base.last, len(base)) == (6, "digest-of-the-last", 6)
    assert base.texts.row(3) == ("v2:key3", "question 3?")
    assert base.texts.row(5) == ("v2:other", "another model")
    expected = source.in_memory()
    for dimension, group in expected.groups.items():
        assert np.array_equal(base.groups[dimension].rows, group.rows)
        assert np.array_equal(base.groups[dimension].matrix, group.matrix)
    assert base.nbytes == 0  # mapped, not copied
    assert not list(tmp_path.glob("*.tmp"))


def test_a_base_of_another_partition_is_refused(tmp_path: Path) -> None:
    write_snapshot(tmp_path / "p.base", PARTITION, merged())
    with pytest.raises(SnapshotError, match="another partition"):
        read_snapshot(tmp_path / "p.base", "sem:v2:elsewhere")


@pytest.mark.parametrize("damage", ["texts", "truncated", "magic", "header"])
def test_a_damaged_file_is_refused(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "p.base"
    write_snapshot(path, PARTITION, merged())
    data = bytearray(path.read_bytes())
    if damage == "texts":
        at = data.index(b"question 3?")
        data[at : at + 11] = b"question 4?"  # a key now points at another text
    elif damage == "truncated":
        del data[-100:]
    elif damage == "magic":
        data[:4] = b"PK\x03\x04"
    else:
        at = data.index(b'"length":')
        data[at : at + 9] = b'"lengt":1'
    path.write_bytes(bytes(data))
    with pytest.raises(SnapshotError):
        read_snapshot(path, PARTITION)
