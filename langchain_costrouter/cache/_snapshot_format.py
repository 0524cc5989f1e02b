"""The semantic base file's format: its magic line, header and aligned blocks.

Layout: a magic line, the header's size (8 bytes, little endian), the header (JSON,
validated field by field), then 64-byte aligned blocks of plain little-endian arrays
(row ids int64, vectors float32, text offsets int64, each row's list position int64
and expiry float64), the texts as JSON and the graphs in usearch's format. The header
says where each block lies and holds the SHA-256 of every block but the vectors
(`checked_parts`). `read_header` refuses a header that is not this format's, or a block
that reaches past the file's end, before anything reads a block; what the blocks hold
is checked by `semantic_snapshot`, which writes and reads the file.
"""

from __future__ import annotations

import mmap
import struct
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAGIC = b"costrouter semantic base\n"
SIZE = struct.Struct("<Q")
"""The header's size, after the magic line."""
_ALIGN = 64
_MAX_HEADER = 1 << 20


FORMAT = 5
"""Bumped whenever the layout, the digest or the guard's signatures change (3: numbers
in order, with their sign, operator or currency; 4: number words read as numbers;
5: each row's list position and expiry)."""


class SnapshotError(ValueError):
    """A file that is not a usable snapshot (foreign, truncated or corrupt)."""


class OutdatedSnapshotError(SnapshotError):
    """A snapshot written by an older release: sound, but in a format no longer read."""


class Block(BaseModel):
    """Where one block lies: from the data's start in the header, from the file's in use."""

    model_config = ConfigDict(extra="forbid")
    offset: int = Field(ge=0)
    size: int = Field(ge=0)


class GroupHeader(BaseModel):
    """One group of vectors of one dimension: its rows, vectors, signatures and graph."""

    model_config = ConfigDict(extra="forbid")
    dimensions: int = Field(gt=0)
    count: int = Field(ge=0)
    rows: Block
    vectors: Block
    signatures: Block
    graph: Block | None


class Header(BaseModel):
    """The file's header, every field validated: a damaged one is refused, not guessed."""

    model_config = ConfigDict(extra="forbid")
    format: Literal[5]
    partition: str
    length: int = Field(ge=0)
    last: str
    text_offsets: Block
    texts: Block
    positions: Block
    expires: Block
    sha256: str  # of every block but the vectors, in `checked_parts` order
    groups: list[GroupHeader]


def checked_parts(view: memoryview, header: Header) -> list[memoryview]:
    """The blocks the digest covers, in the order `write_snapshot` hashed them."""
    blocks = [header.text_offsets, header.texts, header.positions, header.expires]
    for group in header.groups:
        blocks += [group.rows, group.signatures]
        blocks += [] if group.graph is None else [group.graph]
    return [view[block.offset : block.offset + block.size] for block in blocks]


class Layout:
    """Hands out aligned blocks after the header's reserved space."""

    def __init__(self) -> None:
        self.end = 0

    def block(self, size: int) -> Block:
        offset = -(-self.end // _ALIGN) * _ALIGN
        self.end = offset + size
        return Block(offset=offset, size=size)


def aligned(position: int) -> int:
    """Where the blocks start after ``position``: the next multiple of 64 bytes."""
    return -(-position // _ALIGN) * _ALIGN


def read_header(mapping: mmap.mmap, size: int) -> Header:
    """The header of a file of ``size`` bytes, its blocks' offsets made the file's.

    Raises:
        OutdatedSnapshotError: the header is an earlier release's format.
        SnapshotError: not a semantic base, a header out of range or invalid, or a block
            that reaches past the end of the file.
    """
    if mapping[: len(MAGIC)] != MAGIC:
        raise SnapshotError("not a semantic base file")
    (header_size,) = SIZE.unpack(mapping[len(MAGIC) : len(MAGIC) + SIZE.size])
    start = len(MAGIC) + SIZE.size
    if header_size > _MAX_HEADER or start + header_size > size:
        raise SnapshotError("the header's size is out of range")
    text = mapping[start : start + header_size]
    try:
        header = Header.model_validate_json(text)
    except ValidationError as error:
        if _older_format(text):
            raise OutdatedSnapshotError("written by an older release") from None
        raise SnapshotError(f"the header is invalid: {error}") from None
    data = aligned(start + header_size)
    blocks = [header.text_offsets, header.texts, header.positions, header.expires]
    for group in header.groups:
        blocks += [group.rows, group.vectors, group.signatures]
        blocks += [group.graph] if group.graph else []
    for block in blocks:
        block.offset += data
        if block.offset + block.size > size:
            raise SnapshotError("a block reaches past the end of the file")
    return header


def _older_format(header: bytes) -> bool:
    """Whether a header that is not of this format is one of an earlier release's."""
    try:
        found = orjson.loads(header).get("format")
    except (orjson.JSONDecodeError, AttributeError):
        return False
    return isinstance(found, int) and not isinstance(found, bool) and 0 < found < FORMAT
