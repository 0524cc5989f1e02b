"""A `Base` as one file of our own format, mapped by every process of the machine.

A new process used to parse the whole partition on its first lookup (1.5 s at 50,000
entries). With this file it maps the vectors and graphs instead of reading them, and
asks the backend only for what was appended after the file's ``length``.

The format (a magic line, a JSON header, 64-byte aligned blocks of plain little-endian
arrays, the texts as JSON, the graphs in usearch's format) is cache/_snapshot_format.py's:
nothing is unpickled. The file is written beside its final name owner-only (0600),
flushed to disk and renamed over it, so a reader sees a whole file or the old one, after
a power cut too.

What it holds is checked before use: every block against the file's size, and, by the
caller, ``last`` against the backend's list. Every block but the vectors is checked
against the header's SHA-256 before anything reads it: usearch's C++ code trusts a
graph's bytes, and a damaged graph crashed the process at its first search (SIGSEGV)
or raised out of the lookup; damaged row ids would pair a vector with another row's
key and text. The vectors are left out (hashing them would multiply a new process's
first lookup several times over: 600 MB at 100,000 entries of 1,536 dimensions);
`semantic_base` refuses, at search time, any candidate whose vector is not of unit
length, which is what damage to a vector makes it. A file of an older format is
`OutdatedSnapshotError`: the caller replaces it without a warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import numpy as np

from langchain_costrouter.cache._snapshot_format import (
    FORMAT,
    MAGIC,
    SIZE,
    Block,
    GroupHeader,
    Header,
    Layout,
    SnapshotError,
    aligned,
    checked_parts,
    read_header,
)
from langchain_costrouter.cache.semantic_ann import AnnGraph, ann_available
from langchain_costrouter.cache.semantic_base import Base, BaseGroup, Merged, PackedTexts

if TYPE_CHECKING:
    from typing_extensions import Buffer


def write_snapshot(path: Path, partition: str, merged: Merged) -> None:
    """Write ``merged`` to ``path`` atomically, owner-only."""
    graphs = {d: None if g.graph is None else g.graph.to_bytes() for d, g in merged.groups.items()}
    layout = Layout()
    text_offsets = layout.block(merged.texts.offsets.nbytes)
    texts = layout.block(len(merged.texts.blob))
    positions = layout.block(merged.positions.nbytes)
    expires = layout.block(merged.expires.nbytes)
    groups = [
        GroupHeader(
            dimensions=dimension,
            count=len(group.rows),
            rows=layout.block(group.rows.nbytes),
            vectors=layout.block(sum(piece.nbytes for piece in group.pieces)),
            signatures=layout.block(group.signatures.nbytes),
            graph=_graph_block(layout, graphs[dimension]),
        )
        for dimension, group in merged.groups.items()
    ]
    digest = hashlib.sha256(_buffer(merged.texts.offsets, "<i8"))
    digest.update(merged.texts.blob)
    digest.update(_buffer(merged.positions, "<i8"))
    digest.update(_buffer(merged.expires, "<f8"))
    for group, graph in zip(merged.groups.values(), graphs.values(), strict=True):
        digest.update(_buffer(group.rows, "<i8"))
        digest.update(_buffer(group.signatures, "<i8"))
        digest.update(graph or b"")
    header = (
        Header(
            format=FORMAT,
            partition=partition,
            length=merged.length,
            last=merged.last,
            text_offsets=text_offsets,
            texts=texts,
            positions=positions,
            expires=expires,
            sha256=digest.hexdigest(),
            groups=groups,
        )
        .model_dump_json()
        .encode()
    )
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(MAGIC + SIZE.pack(len(header)) + header)
            start = aligned(out.tell())
            _write_at(out, start + text_offsets.offset, _buffer(merged.texts.offsets, "<i8"))
            _write_at(out, start + texts.offset, merged.texts.blob)
            _write_at(out, start + positions.offset, _buffer(merged.positions, "<i8"))
            _write_at(out, start + expires.offset, _buffer(merged.expires, "<f8"))
            for header_group, group in zip(groups, merged.groups.values(), strict=True):
                _write_at(out, start + header_group.rows.offset, _buffer(group.rows, "<i8"))
                vectors = (_buffer(piece, "<f4") for piece in group.pieces)
                _write_at(out, start + header_group.vectors.offset, *vectors)
                signatures = _buffer(group.signatures, "<i8")
                _write_at(out, start + header_group.signatures.offset, signatures)
                graph = graphs[header_group.dimensions]
                if header_group.graph is not None and graph is not None:
                    _write_at(out, start + header_group.graph.offset, graph)
            out.truncate(start + layout.end)  # empty blocks at the end lie inside it too
            out.flush()
            os.fsync(out.fileno())  # the data before the rename: never a named, empty file
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def read_snapshot(path: Path, partition: str) -> Base:
    """The base stored at ``path`` for ``partition``, its arrays mapped, not read.

    Raises:
        SnapshotError: not a snapshot of ``partition`` in this format, or damaged.
        OSError: the file cannot be opened (absent, unreadable).
    """
    with path.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size <= len(MAGIC) + SIZE.size:
            raise SnapshotError(f"{path} is too short to be a semantic base")
        mapping = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    header = read_header(mapping, size)
    if header.partition != partition:
        raise SnapshotError(f"{path} holds another partition")
    view = memoryview(mapping)
    digest = hashlib.sha256()
    for part in checked_parts(view, header):
        digest.update(part)
    if digest.hexdigest() != header.sha256:
        raise SnapshotError(f"{path}: the file does not match its digest (damaged)")
    offsets = _array(view, header.text_offsets, np.dtype("<i8"))
    blob = view[header.texts.offset : header.texts.offset + header.texts.size]
    if not _consistent(offsets, len(blob)):
        raise SnapshotError(f"{path}: the text offsets do not match the texts")
    texts = PackedTexts(offsets.astype(np.int64), blob)
    positions = _array(view, header.positions, np.dtype("<i8")).astype(np.int64)
    expires = _array(view, header.expires, np.dtype("<f8")).astype(np.float64)
    if len(positions) != len(texts) or len(expires) != len(texts):
        raise SnapshotError(f"{path}: the rows' positions or expiries do not match the texts")
    groups = {g.dimensions: _group(view, g, len(texts), path) for g in header.groups}
    return Base(header.length, header.last, texts, groups, positions, expires, mapping)


def _consistent(offsets: np.ndarray, blob_size: int) -> bool:
    """Offsets that start at 0, never go back and end at the blob's end."""
    return (
        len(offsets) >= 1
        and offsets[0] == 0
        and offsets[-1] == blob_size
        and not np.any(np.diff(offsets) < 0)
    )


def _buffer(array: np.ndarray, dtype: str) -> memoryview:
    """The array's bytes in ``dtype`` without a copy when it already is one."""
    return np.ascontiguousarray(array, dtype=dtype).data


def _graph_block(layout: Layout, graph: bytes | None) -> Block | None:
    return None if graph is None else layout.block(len(graph))


def _write_at(out: BinaryIO, position: int, *parts: Buffer) -> None:
    """Write ``parts`` one after the other from ``position``."""
    out.seek(position)
    for part in parts:
        out.write(part)


def _array(view: memoryview, block: Block, dtype: np.dtype[np.generic]) -> np.ndarray:
    if block.size % dtype.itemsize:
        raise SnapshotError("a block's size is not a whole number of items")
    return np.frombuffer(view, dtype=dtype, count=block.size // dtype.itemsize, offset=block.offset)


def _group(view: memoryview, header: GroupHeader, texts: int, path: Path) -> BaseGroup:
    rows = _array(view, header.rows, np.dtype("<i8")).astype(np.int64)
    vectors = _array(view, header.vectors, np.dtype("<f4"))
    signatures = _array(view, header.signatures, np.dtype("<i8")).astype(np.int64)
    counts = (len(rows), len(signatures), vectors.size // header.dimensions)
    if counts != (header.count,) * 3 or vectors.size % header.dimensions:
        raise SnapshotError(f"{path}: a group's arrays do not match its count")
    if len(rows) and (rows.min() < 0 or rows.max() >= texts):
        raise SnapshotError(f"{path}: a group points at rows it does not have")
    graph = None
    if header.graph is not None and ann_available():
        start = header.graph.offset
        try:
            graph = AnnGraph.mapped(view[start : start + header.graph.size])
        except (ValueError, RuntimeError) as error:  # usearch's: another version's format
            raise SnapshotError(f"{path}: usearch cannot read the graph ({error})") from None
        if len(graph) != header.count or graph.dimensions != header.dimensions:
            raise SnapshotError(f"{path}: a graph does not match its group")
    matrix = vectors.reshape(header.count, header.dimensions)
    return BaseGroup(rows, matrix, signatures, graph)
