"""Multi-row SQL statements in sizes SQLite's statement cache keeps.

The background writers (the SQLite ledger's, the diskcache write-behind's) write a batch
as ``INSERT ... VALUES (...), (...), ...``: one statement, one step, where ``executemany``
stepped once per row. But a statement for 57 rows is other SQL than one for 58, and the
``sqlite3`` module caches prepared statements by their text: with one size per batch,
every batch was prepared anew, and preparing (parsing, planning) a statement of a few
thousand parameters cost twice what running it did (counted with callgrind: about 100k
instructions per routed call, bench/concurrency_callgrind.py). Cutting a batch into
powers of two (57 = 32 + 16 + 8 + 1) keeps the statements to a handful of texts, each
prepared once per connection.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")


def power_of_two_chunks(items: Sequence[T], largest: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive chunks of ``largest`` (a power of two), then smaller powers."""
    if largest < 1 or largest & (largest - 1):
        raise ValueError(f"largest must be a power of two, not {largest}")
    start, size = 0, largest
    while start < len(items):
        while size > len(items) - start:
            size //= 2
        yield items[start : start + size]
        start += size


@functools.lru_cache(maxsize=64)
def multi_row(head: str, row: str, rows: int, tail: str = "") -> str:
    """``head``, ``rows`` copies of ``row`` joined by commas, then ``tail``: the statement
    for a chunk of that size, built once per size."""
    return head + ", ".join([row] * rows) + tail
