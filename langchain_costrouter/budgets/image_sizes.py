"""An image's width and height read from the first bytes of its file, offline.

A budget's reservation prices an image by its size (budgets/media.py), and the size is
in the file's header: PNG, GIF, WebP and JPEG, the formats the providers take, are
read here without an imaging library and without decoding the whole base64 payload.
An image whose size cannot be read (a URL, a file id, an unknown format) is priced at
its provider's largest size instead, never at nothing.
"""

from __future__ import annotations

import base64
import binascii
import struct

HEADER_BYTES = 65_536
"""Bytes decoded to find a size: a JPEG's frame header can follow its EXIF data."""
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def image_bytes(data: str | bytes | bytearray) -> bytes | None:
    """The first `HEADER_BYTES` of an image given as bytes, base64 or a ``data:`` URL;
    None when ``data`` is neither (an http URL, a file id)."""
    if isinstance(data, bytes | bytearray):
        return bytes(data[:HEADER_BYTES])
    if data.startswith("data:"):
        head, _, data = data.partition(",")
        if not head.endswith(";base64"):
            return None
    chunk = data[: HEADER_BYTES * 4 // 3].strip()
    chunk = chunk[: len(chunk) - len(chunk) % 4]
    try:
        return base64.b64decode(chunk, validate=True)
    except (binascii.Error, ValueError):
        return None


def image_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF, WebP or JPEG from its first bytes, else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n") and len(head) >= 24:
        return _positive(struct.unpack(">II", head[16:24]))
    if head[:6] in (b"GIF87a", b"GIF89a") and len(head) >= 10:
        return _positive(struct.unpack("<HH", head[6:10]))
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _webp_size(head)
    if head.startswith(b"\xff\xd8"):
        return _jpeg_size(head)
    return None


def _webp_size(head: bytes) -> tuple[int, int] | None:
    kind = head[12:16]
    if kind == b"VP8X" and len(head) >= 30:
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return width, height
    if kind == b"VP8L" and len(head) >= 25:
        bits = int.from_bytes(head[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8 " and len(head) >= 30:
        width, height = struct.unpack("<HH", head[26:30])
        return _positive((width & 0x3FFF, height & 0x3FFF))
    return None


def _jpeg_size(head: bytes) -> tuple[int, int] | None:
    """Walk the JPEG's segments to its frame header (SOFn), which holds the size."""
    at = 2
    while at + 9 <= len(head):
        if head[at] != 0xFF:
            return None
        marker = head[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in _JPEG_FRAMES:
            height, width = struct.unpack(">HH", head[at + 5 : at + 9])
            return _positive((width, height))
        at += 2 + int.from_bytes(head[at + 2 : at + 4], "big")
    return None


def _positive(size: tuple[int, int]) -> tuple[int, int] | None:
    return size if size[0] > 0 and size[1] > 0 else None
