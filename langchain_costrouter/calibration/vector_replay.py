"""The test split's replay computed over columns: which tier serves each row, in batches.

`run.run_records` sends every record through `RoutedChatModel` (about a millisecond a
record); at hundreds of thousands of rows that is most of a calibration. Here the same
decisions are computed for a batch of rows at once (`_batch_stages.cascade_stages`: per
cascade stage, the policy's check scores every still-open row, and a score within
``EXACT_BAND`` of its threshold is recomputed by the scorer's own per-row code).
`replay_check` then replays a random sample through the router in every run and raises
on any difference.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from langchain_costrouter.calibration._batch_stages import EXACT_BAND as EXACT_BAND
from langchain_costrouter.calibration._batch_stages import cascade_stages
from langchain_costrouter.calibration.arrays import batches
from langchain_costrouter.calibration.evaluate import Figures
from langchain_costrouter.calibration.features import IntArray
from langchain_costrouter.calibration.money import ledger_float
from langchain_costrouter.calibration.policy import Policy, TaskPolicy
from langchain_costrouter.calibration.progress import Progress, bar
from langchain_costrouter.calibration.table import OutcomeTable
from langchain_costrouter.errors import ConfigError

BATCH_ROWS = 4096
"""Rows scored at once: bounds the memory of a batch's features."""


def replay_stages(
    policy: Policy, table: OutcomeTable, rows: IntArray, show: Progress
) -> npt.NDArray[np.int8]:
    """Per row of ``rows`` (table rows), the index of the tier that serves it in its cascade.

    Raises:
        ConfigError: the policy has no cascade for a task label of the table.
    """
    uncovered = sorted(set(table.arrays.tasks) - set(policy.tasks))
    if uncovered:
        raise ConfigError(
            f"the policy has no cascade for task labels {uncovered} of these records "
            f"(its tasks: {sorted(policy.tasks)}); calibrate on records with these labels"
        )
    stages = np.zeros(len(rows), dtype=np.int8)
    codes = table.arrays.task_codes[rows]
    with bar(len(rows), "replay", "rows", show) as progress:
        for chunk in batches(range(len(rows)), BATCH_ROWS):
            positions = np.asarray(chunk, dtype=np.int64)
            for code, task in enumerate(table.arrays.tasks):
                members = positions[codes[positions] == code]
                if len(members):
                    spec = policy.tasks[task]
                    stages[members] = _stages(spec, table, rows[members])
            progress.update(len(positions))
    return stages


def served_columns(
    policy: Policy, table: OutcomeTable, rows: IntArray, stages: npt.NDArray[np.int8]
) -> list[tuple[int, ...]]:
    """Per row, the table columns of the tiers it paid for, in order (the served one last)."""
    tiers = {
        task: [table.arrays.models.index(model) for model in spec.tiers]
        for task, spec in policy.tasks.items()
    }
    names = table.arrays.tasks
    codes = table.arrays.task_codes[rows].tolist()
    return [tuple(tiers[names[c]][: s + 1]) for c, s in zip(codes, stages.tolist(), strict=True)]


def routed_figures(table: OutcomeTable, rows: IntArray, paid: Sequence[tuple[int, ...]]) -> Figures:
    """`run.RunSummary.of(...).figures()` of the replay, summed the same way.

    Quality is the row's own score of the served model; cost the row's own recorded
    cost per tier paid (the replay answers each record with its own outcomes, even
    when another record asks the same prompt), one ledger row each, summed as the
    ledger sums its rows (`money.ledger_sum`).
    """
    scores, costs = table.arrays.scores, table.arrays.costs
    served = np.array([columns[-1] for columns in paid], dtype=np.int64)
    quality = scores[rows, served].tolist()
    calls: Counter[str] = Counter()
    for columns in paid:
        calls.update(table.arrays.models[c] for c in columns)
    attempts = np.fromiter(itertools.chain.from_iterable(paid), dtype=np.int64)
    attempted_rows = np.repeat(rows, [len(columns) for columns in paid])
    size = len(paid)
    cost = ledger_float(costs[attempted_rows, attempts])
    return Figures(sum(quality) / max(size, 1), cost, size, dict(calls))


def _stages(spec: TaskPolicy, table: OutcomeTable, table_rows: IntArray) -> IntArray:
    """Serving tier index per row: the first stage whose rule accepts, else the last."""
    scored = [table.arrays.models.index(model) for model in spec.tiers[: len(spec.rules)]]
    rows = table_rows.tolist()
    queries = [table.queries[r] for r in rows]
    answers = [[table.answers[c][r] for r in rows] for c in scored]
    logprobs = None if table.logprobs is None else [table.logprobs[table_rows, c] for c in scored]
    return cascade_stages(spec.rules, queries, answers, logprobs)
