"""The rule every table of the configuration file follows, in one place.

A typo such as ``max_cost = 0.1`` in a route would otherwise switch the budget off
without a word, and ``timeout = "60"`` read as 60 would accept a file that does not say
what its author meant. So a table forbids unknown keys, coerces no value and is frozen;
`config_schema` and `_config_router` build every table of the file on `StrictTable`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class StrictTable(BaseModel):
    """A table of the file: unknown keys refused, no value coerced, never changed."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


Table = dict[str, Any]
"""A table typed only as a table: its builder checks it under the same key path."""
