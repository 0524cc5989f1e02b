"""The journal's line format: one JSON line per call (its record) or per batch of rows.

A call is written as the record `PendingCall` holds, not as its rows: building rows
costs the caller more than encoding the record, and `decode` builds them when the
line is replayed. Each line says how many rows it makes (``"n"``), so the spool can
count what waits without building anything. The segments these lines go into, and
their replay, are in `langchain_costrouter.ledger.spool`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from langchain_costrouter.ledger.call_rows import PendingCall
from langchain_costrouter.ledger.rows import ROW_FIELDS, LedgerRow

VERSION = 1
"""The format's version, in every segment's header."""
_MONEY = tuple(field.name for field in fields(LedgerRow) if "Decimal" in str(field.type))


def row_count(item: LedgerRow | PendingCall) -> int:
    """How many rows an item makes, without building them (see `rows_from_costrouter`)."""
    if isinstance(item, LedgerRow):
        return 1
    return len(item.meta.get("attempts") or ()) or int(bool(item.meta.get("cache_hit")))


def encode(items: Sequence[LedgerRow | PendingCall]) -> bytes:
    """Journal lines of ``items``: a call keeps its record, rows are written out."""
    return b"".join(_encode_item(item) for item in items)


def _encode_item(item: LedgerRow | PendingCall) -> bytes:
    if isinstance(item, PendingCall):
        call = {
            "run_id": item.run_id,
            "when": item.when.isoformat(),
            "reference_model": item.reference_model,
            "meta": item.meta,
        }
        try:
            return _line({"n": row_count(item), "call": call})
        except (
            TypeError,
            ValueError,
            RecursionError,
        ):  # a value JSON cannot hold: store the rows themselves
            rows = item.rows()
            return _line({"n": len(rows), "rows": [_row_dict(row) for row in rows]})
    return _line({"n": 1, "rows": [_row_dict(item)]})


_AS_JSON = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_APPEND_NEWLINE
)
"""orjson refuses what ``json`` would (a datetime, a dataclass, a str subclass) instead of
writing it its own way, so a call whose record holds one falls back to its rows."""


def _line(value: dict[str, Any]) -> bytes:
    """One journal line. orjson: it runs on the caller's path, fifteen times faster than
    ``json``; like JSON, it writes a NaN or infinite float as null. A lone surrogate
    (which UTF-8 cannot encode) is written as the databases will store it."""
    try:
        return orjson.dumps(value, option=_AS_JSON)
    except TypeError:
        storable = storable_text(value, nul=False)  # JSON holds a NUL
        if storable == value:
            raise
        return orjson.dumps(storable, option=_AS_JSON)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def storable_text(value: Any, *, nul: bool = True) -> Any:
    """``value`` with every lone surrogate in its strings (dict keys too), and every NUL
    unless ``nul`` is False (SQLite holds one), made U+FFFD: Postgres text holds no NUL,
    and UTF-8 no surrogate, so a row carrying one (a provider's model name, a judge's
    reason) would fail every write, and hold up every row after it in the spool. Called
    only once a write or an encoding failed."""
    if isinstance(value, str):
        return (_UNSTORABLE if nul else _SURROGATE).sub("\ufffd", value)
    if isinstance(value, dict):
        return {storable_text(k, nul=nul): storable_text(v, nul=nul) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable_text(item, nul=nul) for item in value]
    return value


def _row_dict(row: LedgerRow) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in ROW_FIELDS}
    values["time"] = row.time.isoformat()
    for name in _MONEY:
        values[name] = None if values[name] is None else str(values[name])
    return values


def decode(line: bytes) -> list[LedgerRow]:
    """The rows of one journal line (a header line has none)."""
    value = json.loads(line)
    if "call" in value:
        call = value["call"]
        pending = PendingCall(
            call["meta"],
            call["run_id"],
            datetime.fromisoformat(call["when"]),
            call["reference_model"],
        )
        return pending.rows()
    return [_row_from_dict(row) for row in value.get("rows", ())]


def _row_from_dict(stored: dict[str, Any]) -> LedgerRow:
    # Fields of another version's rows are dropped; fields it lacks take their defaults.
    values = {name: value for name, value in stored.items() if name in ROW_FIELDS}
    values["time"] = datetime.fromisoformat(values["time"])
    for name in _MONEY:
        values[name] = None if values[name] is None else Decimal(values[name])
    return LedgerRow(**values)


def header(ledger: str, table_prefix: str) -> bytes:
    """The first line of every segment: what it is and which ledger it belongs to."""
    return _line(
        {
            "journal": "langchain-costrouter ledger",
            "version": VERSION,
            "ledger": ledger,
            "table_prefix": table_prefix,
            "pid": os.getpid(),
        }
    )
