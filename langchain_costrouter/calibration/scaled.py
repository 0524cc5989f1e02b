"""``costrouter calibrate`` over an `OutcomeTable`: search, batched replay, sampled check.

The record-by-record path (`search.calibrate` on parsed records, then `run.run_records`
on every test record) holds every record as Python objects and sends each through the
router. This path reads the file once into columns, runs the same search on per-task
matrices built from them (`table.task_matrix` equals `OutcomeMatrix.of`), decides every
test row's serving tier in batches (`vector_replay`) and replays a seeded sample
through the router to prove the batched figures are the router's (`replay_check`).
Both paths print the same figures on the same file (tests/unit_tests/calibration/
test_scaled.py compares them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_costrouter.calibration.features import IntArray
from langchain_costrouter.calibration.options import SearchOptions
from langchain_costrouter.calibration.policy import Policy
from langchain_costrouter.calibration.progress import Progress, tracked
from langchain_costrouter.calibration.replay_check import check_sample
from langchain_costrouter.calibration.report import matrices_report
from langchain_costrouter.calibration.search import search_matrices
from langchain_costrouter.calibration.table import OutcomeTable, task_matrix
from langchain_costrouter.calibration.vector_replay import (
    replay_stages,
    routed_figures,
    served_columns,
)


def calibrate_table(
    table: OutcomeTable, train: IntArray, options: SearchOptions, show: Progress
) -> Policy:
    """`search.calibrate` on the train rows of ``table``, one task label at a time."""
    codes = table.arrays.task_codes[train]
    tasks = sorted(table.arrays.tasks[code] for code in set(codes.tolist()))
    matrices = (
        (task, task_matrix(table, train[codes == table.arrays.tasks.index(task)])) for task in tasks
    )
    return search_matrices(
        tracked(matrices, len(tasks), "search", "tasks", show), len(train), options
    )


def evaluate_table(
    policy: Policy,
    table: OutcomeTable,
    split: tuple[IntArray, IntArray],
    path: str | Path,
    *,
    seed: int,
    show: Progress,
    policy_path: Path | None = None,
) -> dict[str, Any]:
    """The figures of ``policy`` on the test rows: `report.figures_report`'s JSON object.

    Raises:
        ReplayMismatchError: the sampled router replay disagrees with the batched one.
    """
    train, test = split
    stages = replay_stages(policy, table, test, show)
    paid = served_columns(policy, table, test, stages)
    check_sample(policy, path, table, test, paid, seed=seed, show=show)
    return matrices_report(
        policy=policy,
        train_size=len(train),
        tested=task_matrix(table, test, with_texts=False),
        chosen_on=task_matrix(table, train, with_texts=False),
        routed=routed_figures(table, test, paid),
        policy_path=policy_path,
    )
