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
from pathlib import Path

import numpy as np

from langchain_costrouter.calibration.arrays import rows_at
from langchain_costrouter.calibration.features import IntArray
from langchain_costrouter.calibration.money import ledger_sum
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
    # Each record is replayed with its own outcomes (`run.run_records` names it to the
    # children), so the sample alone is enough, repeated prompts or not.
    in_file_order = sorted(set(sampled))
    by_row = dict(zip(in_file_order, rows_at(path, in_file_order), strict=True))
    records = [by_row[row] for row in sampled]
    calls = run_records(replay_router(policy, records), records, label="check", show=show)
    for call, pick, row in zip(calls, picks.tolist(), sampled, strict=True):
        _compare(call, table, row, paid[pick])
    return len(sampled)


def _compare(call: ServedCall, table: OutcomeTable, row: int, paid: tuple[int, ...]) -> None:
    if call.record.id != table.arrays.question_ids[row]:
        raise ReplayMismatchError(
            call.record.id, "id", call.record.id, table.arrays.question_ids[row]
        )
    models = table.arrays.models
    costs = table.arrays.costs[row]
    expected = {
        "model": models[paid[-1]],
        "cost_usd": ledger_sum(float(costs[c]) for c in paid),
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
