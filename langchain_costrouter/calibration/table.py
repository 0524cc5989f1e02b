"""An outcomes file as columns: `OutcomeArrays` plus the plain texts the scorer reads.

``costrouter calibrate`` at scale reads the file once into this table instead of a list
of parsed records: numpy arrays for scores and costs, and per row only the strings the
learned scorer and the replay need (the query text, each model's answer, the prompt key).
The split, the per-task matrices the search runs on and the records digest a policy
remembers are all computed from the columns, and equal what `report.checked_split`,
`_outcome_matrix.OutcomeMatrix.of` and `report.records_digest` give on the parsed records.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from langchain_costrouter.calibration.arrays import (
    LocatedCost,
    OutcomeArrays,
    OutcomeCost,
    outcome_arrays,
)
from langchain_costrouter.calibration.evaluate import OutcomeMatrix, check_train_fraction
from langchain_costrouter.calibration.features import FloatArray, IntArray, query_text
from langchain_costrouter.calibration.groups import split_groups
from langchain_costrouter.calibration.progress import Progress, tracked
from langchain_costrouter.calibration.report import check_task_sizes, digest_of
from langchain_costrouter.outcomes import OutcomeRecord, iter_numbered_outcomes
from langchain_costrouter.replay import record_key


@dataclass(frozen=True)
class OutcomeTable:
    """Row ``i`` of every column is record ``i`` of the file (blank lines skipped).

    ``answers[c]`` holds model ``arrays.models[c]``'s answer texts ("" when none);
    ``logprobs[i, c]`` its answer's mean and minimum token log-probability (NaN when
    not recorded), and ``logprobs`` is None when no answer of the file recorded any.
    """

    arrays: OutcomeArrays
    queries: tuple[str, ...]
    answers: tuple[tuple[str, ...], ...]
    prompt_keys: tuple[str, ...]
    logprobs: FloatArray | None = None

    def __len__(self) -> int:
        return len(self.arrays)

    def digest(self) -> str:
        """`report.records_digest` of the file's records."""
        return digest_of(self.arrays.question_ids, self.prompt_keys)


def outcome_table(records: Iterable[OutcomeRecord], cost_of: OutcomeCost) -> OutcomeTable:
    """Stream ``records`` into an `OutcomeTable`; no record is kept."""
    queries: list[str] = []
    keys: list[str] = []
    answers: list[list[str]] = []
    logprobs = array("d")
    recorded = False

    def texts_of(stream: Iterable[OutcomeRecord]) -> Iterator[OutcomeRecord]:
        nonlocal recorded
        for record in stream:
            if not answers:
                answers.extend([] for _ in record.outcomes)
            queries.append(query_text(m["content"] for m in record.messages))
            keys.append(record_key(record))
            for column, model in enumerate(sorted(record.outcomes)):
                outcome = record.outcomes[model]
                answers[column].append(outcome.text or "")
                summary = outcome.logprobs
                recorded = recorded or summary is not None
                pair = (math.nan, math.nan) if summary is None else (summary.mean, summary.min)
                logprobs.extend(pair)
            yield record

    arrays = outcome_arrays(texts_of(records), cost_of)
    shape = (len(queries), len(answers), 2)
    columns = np.frombuffer(logprobs, dtype=np.float64).reshape(shape).copy() if recorded else None
    return OutcomeTable(arrays, tuple(queries), tuple(map(tuple, answers)), tuple(keys), columns)


def read_outcome_table(path: str | Path, cost_of: OutcomeCost, show: Progress) -> OutcomeTable:
    """`outcome_table` of a JSONL file, with a bar over its lines."""
    located = LocatedCost(path, cost_of)
    numbered = tracked(iter_numbered_outcomes(path), _count_lines(path), "load", "rows", show)
    return outcome_table(located.records(numbered), located)


def table_split(table: OutcomeTable, train_fraction: float, seed: int) -> tuple[IntArray, IntArray]:
    """(train rows, test rows) exactly as `report.checked_split` splits the records."""
    check_train_fraction(train_fraction)
    rng = np.random.default_rng(seed)
    train: list[IntArray] = []
    test: list[IntArray] = []
    sizes: dict[str, tuple[int, int, int]] = {}
    codes = table.arrays.task_codes
    for task in sorted(table.arrays.tasks):
        members = np.flatnonzero(codes == table.arrays.tasks.index(task))
        keys = [table.prompt_keys[i] for i in members]
        kept, held = split_groups(keys, train_fraction, rng)
        train.append(members[kept])
        test.append(members[held])
        sizes[task] = (len(kept), len(held), len(set(keys)))
    check_task_sizes(sizes, train_fraction)
    return np.concatenate(train), np.concatenate(test)


def task_matrix(table: OutcomeTable, rows: IntArray, *, with_texts: bool = True) -> OutcomeMatrix:
    """`OutcomeMatrix.of` the records at ``rows``, built from the columns.

    ``with_texts=False`` leaves the texts out: enough for figures, not for a search.
    The prompt keys are always there (the search's folds keep copies together with them).
    """
    quality, cost = table.arrays.scores[rows], table.arrays.costs[rows]
    order = np.argsort(cost.mean(axis=0), kind="stable")
    picked = rows.tolist() if with_texts else []
    logprobs = table.logprobs
    return OutcomeMatrix(
        records=(),
        models=tuple(table.arrays.models[i] for i in order),
        quality=quality[:, order],
        cost=cost[:, order],
        queries=tuple(table.queries[i] for i in picked),
        texts=tuple(tuple(table.answers[column][i] for i in picked) for column in order)
        if with_texts
        else (),
        logprobs=None if logprobs is None or not with_texts else logprobs[rows][:, order],
        keys=tuple(table.prompt_keys[i] for i in rows.tolist()),
    )


def _count_lines(path: str | Path) -> int:
    """Non-blank lines are records; counting newlines is close enough for a bar's total."""
    with open(path, "rb") as file:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))
