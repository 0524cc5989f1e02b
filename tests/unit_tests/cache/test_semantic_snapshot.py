"""Base files: a round trip of plain arrays, owner-only, and refused when damaged."""

from __future__ import annotations

import json
import math
import stat
import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from langchain_costrouter.cache import semantic_base
from langchain_costrouter.cache._snapshot_format import MAGIC, OutdatedSnapshotError, SnapshotError
from langchain_costrouter.cache.semantic_ann import ann_available
from langchain_costrouter.cache.semantic_base import Merged, merge
from langchain_costrouter.cache.semantic_index import Rows, encode_entry
from langchain_costrouter.cache.semantic_snapshot import read_snapshot, write_snapshot
from langchain_costrouter.cache.semantic_view import PartitionView

PARTITION = "sem:v2:test"
needs_ann = pytest.mark.skipif(not ann_available(), reason="the [ann] extra is not installed")


def unit(*values: float) -> list[float]:
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


def merged(count: int = 5) -> Merged:
    lines = [encode_entry(f"v2:key{i}", f"question {i}?", unit(1, i, 2)) for i in range(count)]
    lines.append(encode_entry("v2:other", "another model", unit(1, 1), 1_900_000_000.5))
    return merge(
        None, Rows.empty().extended(list(enumerate(lines))), len(lines), "digest-of-the-last"
    )


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
    assert base.positions.tolist() == list(range(6))
    assert base.expires.tolist() == [math.inf] * 5 + [1_900_000_000.5]
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


def graphed(monkeypatch: pytest.MonkeyPatch) -> Merged:
    """300 random unit vectors of 64 dimensions, with a graph (the threshold lowered)."""
    monkeypatch.setattr(semantic_base, "EXACT_SCAN_FLOATS", 100)
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((300, 64))
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    lines = [encode_entry(f"v2:k{i}", f"q {i}", v.tolist()) for i, v in enumerate(vectors)]
    source = merge(None, Rows.empty().extended(list(enumerate(lines))), len(lines), "last")
    assert source.groups[64].graph is not None
    return source


def blocks(path: Path) -> dict[str, tuple[int, int]]:
    """Each block of the file's first group: its absolute offset and size."""
    data = path.read_bytes()
    (size,) = struct.unpack("<Q", data[len(MAGIC) : len(MAGIC) + 8])
    start = len(MAGIC) + 8
    header = json.loads(data[start : start + size])
    base = -(-(start + size) // 64) * 64
    group = header["groups"][0]
    found = {name: header[name] for name in ("positions", "expires")}
    found.update({name: group[name] for name in ("rows", "signatures", "graph")})
    return {name: (base + block["offset"], block["size"]) for name, block in found.items()}


@needs_ann
@pytest.mark.parametrize("block", ["rows", "signatures", "graph", "positions", "expires"])
def test_a_damaged_block_is_refused_before_it_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, block: str
) -> None:
    # A graph's bytes are read by usearch's C++ code: damaged, they crashed the process
    # (SIGSEGV) at the first search, or raised RuntimeError out of the lookup. Damaged
    # rows point a vector at another row's key and text: a wrong answer.
    path = tmp_path / "p.base"
    write_snapshot(path, PARTITION, graphed(monkeypatch))
    offset, size = blocks(path)[block]
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(2)
    for at in rng.integers(offset + size // 4, offset + size, 64).tolist():
        data[at] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(SnapshotError, match="digest"):
        read_snapshot(path, PARTITION)


def test_a_merge_leaves_out_the_dead_rows(tmp_path: Path) -> None:
    source = merged().in_memory()  # five rows of 3 dimensions, then one of 2
    compacted = merge(source, Rows.empty(), 6, "digest-of-the-last", dead=5)
    write_snapshot(tmp_path / "p.base", PARTITION, compacted)
    base = read_snapshot(tmp_path / "p.base", PARTITION)
    assert (len(base), base.length, list(base.groups)) == (1, 6, [2])
    assert base.texts.row(0) == ("v2:other", "another model")
    assert base.positions.tolist() == [5]
    view = PartitionView.of_base(base, [])
    found = view.best(unit(1, 1), 0.99, lambda text: True)
    assert found is not None and found.key == "v2:other"
    empty = merge(source, Rows.empty(), 6, "digest-of-the-last", dead=6)
    write_snapshot(tmp_path / "e.base", PARTITION, empty)
    assert len(read_snapshot(tmp_path / "e.base", PARTITION)) == 0


@needs_ann
def test_a_merge_without_dead_rows_builds_a_new_graph_of_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = graphed(monkeypatch).in_memory()
    tail = Rows.empty().extended([(300, encode_entry("v2:new", "q new", unit(*range(1, 65))))])
    compacted = merge(source, tail, 301, "last", dead=200)
    write_snapshot(tmp_path / "p.base", PARTITION, compacted)
    base = read_snapshot(tmp_path / "p.base", PARTITION)
    graph = base.groups[64].graph
    assert graph is not None and len(graph) == len(base) == 101
    assert base.positions.tolist() == list(range(200, 301))
    assert base.texts.row(0) == ("v2:k200", "q 200")
    view = PartitionView.of_base(base, [])
    for row in (0, 57, 100):
        vector = base.groups[64].matrix[row].tolist()
        found = view.best(vector, 0.999, lambda text: True)
        assert found is not None and found.key == base.texts.row(row)[0]


class _UnreadableGraph:
    """A graph whose saved form usearch cannot restore (as after a usearch upgrade)."""

    def to_bytes(self) -> bytes:
        return b"usearch-format-of-another-version" * 100


@needs_ann
def test_a_graph_usearch_cannot_restore_is_a_snapshot_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = graphed(monkeypatch)
    group = source.groups[64]
    broken = replace(group, graph=_UnreadableGraph())  # type: ignore[arg-type]
    write_snapshot(tmp_path / "p.base", PARTITION, replace(source, groups={64: broken}))
    with pytest.raises(SnapshotError, match="graph"):
        read_snapshot(tmp_path / "p.base", PARTITION)


# 2 and 3: the guard's signatures of numbers changed (3: number words are numbers);
# 4: rows had no list positions and expiries
@pytest.mark.parametrize("older", [1, 2, 3, 4])
def test_a_file_of_an_older_format_is_outdated_not_damaged(tmp_path: Path, older: int) -> None:
    path = tmp_path / "p.base"
    write_snapshot(path, PARTITION, merged())
    data = path.read_bytes()
    at = data.index(b'"format":')
    current = data[at : at + 10]
    path.write_bytes(data.replace(current, b'"format":%d' % older, 1))
    with pytest.raises(OutdatedSnapshotError):
        read_snapshot(path, PARTITION)


def test_a_damaged_vector_is_never_a_candidate(tmp_path: Path) -> None:
    # Vectors are not hashed (a new process would read them all): a damaged one, no
    # longer of unit length, is left out of the search instead of matching anything.
    path = tmp_path / "p.base"
    write_snapshot(path, PARTITION, merged())
    data = bytearray(path.read_bytes())
    (size,) = struct.unpack("<Q", data[len(MAGIC) : len(MAGIC) + 8])
    start = len(MAGIC) + 8
    groups = json.loads(data[start : start + size])["groups"]
    (vectors,) = (group["vectors"] for group in groups if group["dimensions"] == 3)
    at = -(-(start + size) // 64) * 64 + vectors["offset"] + 2 * 12  # row 2's vector
    data[at : at + 12] = np.asarray([40.0, 0.0, 0.0], dtype="<f4").tobytes()
    path.write_bytes(bytes(data))
    view = PartitionView.of_base(read_snapshot(path, PARTITION), [])
    found = view.best(unit(1, 0, 0), 0.1, lambda text: True)
    assert found is not None and found.key != "v2:key2"
    assert view.best(unit(1, 2, 2), 0.999, lambda text: text == "question 2?") is None
