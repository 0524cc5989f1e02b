"""Every batched replay is checked against the product's own path on a random sample.

`vector_replay` decides the serving tier of each test row without the router. So that
the printed figures stay the product's own, each run parses a seeded random sample of
the test rows in full, sends them through `RoutedChatModel` on replay children (as
`run.run_records` does for every row on the record-by-record path) and compares, call by
call, the served model, the cost the ledger recorded, the quality and the tiers paid
for. Any difference raises `ReplayMismatchError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import numpy as np

from langchain_costrouter.calibration.arrays import rows_at
from langchain_costrouter.calibration.features import IntArray
from langchain_costrouter.calibration.policy import Policy
from langchain_costrouter.calibration.progress import Progress
from langchain_costrouter.calibration.run import ServedCall, replay_router, run_records
from langchain_costrouter.calibration.table import OutcomeTable
from langchain_costrouter.errors import ReplayMismatchError

CHECK_SAMPLE = 200
"""Test rows replayed through the router in every run."""


def check_sample(
    policy: Policy,
    path: str | Path,
    table: OutcomeTable,
    rows: IntArray,
    paid: Sequence[tuple[int, ...]],
    *,
    seed: int,
    show: Progress,
    size: int = CHECK_SAMPLE,
) -> int:
    """Replay a seeded sample of ``rows`` through the router; returns how many were checked.

    ``paid`` is `vector_replay.served_columns` of ``rows``.

    Raises:
        ReplayMismatchError: the router and the batched replay differ on a sampled row.
    """
    picks = np.sort(np.random.default_rng(seed).choice(len(rows), min(size, len(rows)), False))
    sampled = rows[picks].tolist()
    served_from = table.answer_rows()
    # The router's children must index the same record per prompt as on the whole file:
    # the row that serves each sampled prompt is read too (`OutcomeTable.answer_rows`).
    needed = sorted(set(sampled) | set(served_from[sampled].tolist()))
    records = dict(zip(needed, rows_at(path, needed), strict=True))
    router = replay_router(policy, [records[row] for row in needed])
    calls = run_records(router, [records[row] for row in sampled], label="check", show=show)
    for call, pick, row in zip(calls, picks.tolist(), sampled, strict=True):
        _compare(call, table, int(served_from[row]), row, paid[pick])
    return len(sampled)


def _compare(
    call: ServedCall, table: OutcomeTable, served_from: int, row: int, paid: tuple[int, ...]
) -> None:
    models = table.arrays.models
    costs = table.arrays.costs[served_from]
    expected = {
        "model": models[paid[-1]],
        "cost_usd": sum((Decimal(repr(float(costs[c]))) for c in paid), Decimal(0)),
        "quality": float(table.arrays.scores[row, paid[-1]]),
        "attempted": tuple(models[c] for c in paid),
    }
    actual = {
        "model": call.model,
        "cost_usd": call.cost_usd,
        "quality": call.quality,
        "attempted": call.attempted,
    }
    for field, value in expected.items():
        if actual[field] != value:
            raise ReplayMismatchError(call.record.id, field, actual[field], value)
