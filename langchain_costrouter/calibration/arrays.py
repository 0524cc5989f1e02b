"""Outcomes as compact numpy arrays: scores and costs in bounded memory.

A parsed `OutcomeRecord` keeps every answer text and message as Python objects (tens of
KB a row at scale); the search needs each row's task, each model's score and cost, and
only the plain texts its scorer reads (`table.OutcomeTable` keeps those beside these
arrays). The reader here streams records (from `iter_outcomes` or the ledger's export)
into column buffers, so peak memory is the arrays plus one record, about 70 bytes a row
for four models. Scores stay float64: the search must see exactly the values a parsed
record holds, or its choice (and the figures) could differ. Full records are parsed
again only for the rows a check replays through the router (see ``rows_at``). Issue 19
in the README's calibration section describes the scale targets.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from langchain_costrouter._outcome_records import parse_record
from langchain_costrouter.errors import ConfigError, OutcomesFormatError
from langchain_costrouter.outcomes import (
    ModelOutcome,
    OutcomeRecord,
    iter_numbered_outcomes,
    record_lines,
)

OutcomeCost = Callable[[str, ModelOutcome], float]
"""The cost of one model's outcome (``calibration.run.outcome_cost`` builds the product's)."""


@dataclass(frozen=True)
class OutcomeArrays:
    """Every row's task and every model's score and cost, row ``i`` of all fields alike.

    ``models`` is the column order of ``scores`` and ``costs`` (sorted names); ``tasks``
    the names ``task_codes`` index into (in order of first appearance).
    """

    question_ids: tuple[str, ...]
    tasks: tuple[str, ...]
    task_codes: npt.NDArray[np.int16]  # [n]
    models: tuple[str, ...]
    scores: npt.NDArray[np.float64]  # [n, m], in [0, 1]
    costs: npt.NDArray[np.float64]  # [n, m], USD

    def __len__(self) -> int:
        return len(self.question_ids)

    def task_rows(self, task: str) -> npt.NDArray[np.intp]:
        """Indices of the rows labelled ``task``."""
        return np.flatnonzero(self.task_codes == self.tasks.index(task))


def outcome_arrays(records: Iterable[OutcomeRecord], cost_of: OutcomeCost) -> OutcomeArrays:
    """Stream ``records`` into `OutcomeArrays`; the records are not kept.

    Raises:
        OutcomesFormatError: when there are no records, or more than 32,767 task labels.
    """
    ids: list[str] = []
    task_index: dict[str, int] = {}
    codes = array("h")
    scores, costs = array("d"), array("d")
    models: tuple[str, ...] = ()
    for record in records:
        if not models:
            models = tuple(sorted(record.outcomes))
        ids.append(record.id)
        code = task_index.setdefault(record.task, len(task_index))
        if code > np.iinfo(np.int16).max:
            raise OutcomesFormatError("outcomes", len(ids), "more than 32,767 task labels")
        codes.append(code)
        for model in models:
            outcome = record.outcomes[model]
            scores.append(outcome.score)
            costs.append(cost_of(model, outcome))
    if not ids:
        raise OutcomesFormatError("outcomes", 0, "the outcomes hold no records")
    shape = (len(ids), len(models))
    return OutcomeArrays(
        question_ids=tuple(ids),
        tasks=tuple(task_index),
        task_codes=np.frombuffer(codes, dtype=np.int16).copy(),
        models=models,
        scores=np.frombuffer(scores, dtype=np.float64).reshape(shape).copy(),
        costs=np.frombuffer(costs, dtype=np.float64).reshape(shape).copy(),
    )


def read_outcome_arrays(path: str | Path, cost_of: OutcomeCost) -> OutcomeArrays:
    """`outcome_arrays` of a JSONL outcomes file, read line by line."""
    located = LocatedCost(path, cost_of)
    return outcome_arrays(located.records(iter_numbered_outcomes(path)), located)


class LocatedCost:
    """``cost_of`` that names the file, line and record of an outcome it cannot cost.

    The cost function sees one outcome, not where it came from; in a file of 10,000
    lines "model 'mid' has an outcome without a cost" is no help. `records` passes the
    records on and remembers where the current one is, so the error can say.
    """

    def __init__(self, path: str | Path, cost_of: OutcomeCost) -> None:
        self.path = str(path)
        self.cost_of = cost_of
        self.line = 0
        self.record_id = ""

    def records(self, numbered: Iterable[tuple[int, OutcomeRecord]]) -> Iterator[OutcomeRecord]:
        """The records of ``numbered`` (`iter_numbered_outcomes`), noting each one's place."""
        for self.line, record in numbered:
            self.record_id = record.id
            yield record

    def __call__(self, model: str, outcome: ModelOutcome) -> float:
        try:
            return self.cost_of(model, outcome)
        except ConfigError as error:
            raise OutcomesFormatError(
                self.path, self.line, f"record {self.record_id!r}: {error.reason}"
            ) from None


def read_costed_outcomes(path: str | Path, cost_of: OutcomeCost) -> list[OutcomeRecord]:
    """`read_outcomes`, checking that every outcome has a cost (errors name the line)."""
    located = LocatedCost(path, cost_of)
    records = []
    for record in located.records(iter_numbered_outcomes(path)):
        for model, outcome in record.outcomes.items():
            located(model, outcome)
        records.append(record)
    return records


def rows_at(path: str | Path, rows: Sequence[int]) -> list[OutcomeRecord]:
    """The full records (texts included) at row positions ``rows`` of a file, in file order.

    For the sample a run replays through the router: only these records are parsed in full.
    Lines are split as `iter_outcomes` splits them (`record_lines`), so row ``i`` here is
    row ``i`` of the table.
    """
    wanted = set(rows)
    last = max(wanted, default=-1)
    found: list[OutcomeRecord] = []
    # The file was read whole (and checked) before; only the sample's lines are parsed.
    for i, (_, line) in enumerate(record_lines(path)):
        if i > last:
            break
        if i in wanted:
            found.append(parse_record(line))
    return found


def batches(rows: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    """``rows`` in consecutive slices of at most ``size``: replay in bounded memory."""
    if size < 1:
        raise ValueError(f"batch size must be at least 1, got {size}")
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
