"""The outcomes JSONL reader and writer (docs/architecture.md 2.3)."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import pytest

from langchain_costrouter.errors import OutcomesFormatError
from langchain_costrouter.logprobs import LogprobSummary
from langchain_costrouter.outcomes import (
    ModelOutcome,
    OutcomeRecord,
    read_outcomes,
    write_outcomes,
)

GOOD: dict[str, Any] = {
    "id": "q1",
    "task": "classification",
    "messages": [{"role": "user", "content": "Is it overruling?"}],
    "reference": "Yes",
    "outcomes": {
        "big": {"text": "Yes", "score": 1.0, "cost_usd": 0.009},
        "small": {"text": "No", "score": 0.0, "input_tokens": 412, "output_tokens": 1},
    },
}


def _with_logprobs(logprobs: object) -> dict[str, object]:
    """GOOD as line q9, the small model's outcome carrying ``logprobs``."""
    small = {**GOOD["outcomes"]["small"], "logprobs": logprobs}
    return {**GOOD, "id": "q9", "outcomes": {**GOOD["outcomes"], "small": small}}


def _write(tmp_path: Path, lines: list[object]) -> Path:
    path = tmp_path / "outcomes.jsonl"
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    records = read_outcomes(_write(tmp_path, [GOOD, {**GOOD, "id": "q2", "category": "law"}]))
    out = tmp_path / "copy.jsonl"
    assert write_outcomes(out, records) == 2
    again = read_outcomes(out)
    assert again == records
    assert again[0].outcomes["small"] == ModelOutcome(0.0, "No", None, 412, 1)
    assert again[1].extra == {"category": "law"}
    assert again[0].reference == "Yes"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "not valid JSON"),
        ({**GOOD, "id": ""}, "'id' must be a non-empty string"),
        ({**GOOD, "id": "q9", "messages": [{"role": "robot", "content": "x"}]}, "messages[0]"),
        (
            {**GOOD, "id": "q9", "outcomes": {"big": {"score": 1.5}, "small": {"score": 0}}},
            "in [0, 1]",
        ),
        (
            {
                **GOOD,
                "id": "q9",
                "outcomes": {"big": {"score": 1}, "small": {"score": 0, "cost_usd": -1}},
            },
            ">= 0",
        ),
        ({**GOOD, "id": "q9", "outcomes": {"big": {"score": 1}}}, "model set"),
        ({**GOOD, "id": "q1"}, "duplicate id"),
        ({**GOOD, "id": "q9", "version": 2}, "unsupported version"),
        (_with_logprobs({"mean": -0.1, "min": 0.5, "tokens": 3}), "min must be a finite number"),
        (_with_logprobs({"mean": -0.1, "min": -0.05, "tokens": 3}), "must not exceed mean"),
        (_with_logprobs({"mean": -0.1, "min": -1.0, "tokens": 0}), "tokens must be"),
        (_with_logprobs([-0.1, -1.0]), "outcomes['small'].logprobs must be an object"),
    ],
)
def test_bad_line_names_file_and_line(tmp_path: Path, bad: object, message: str) -> None:
    path = _write(tmp_path, [GOOD, "", bad])
    with pytest.raises(OutcomesFormatError, match=re.escape(message)) as caught:
        read_outcomes(path)
    assert caught.value.line == 3
    assert str(caught.value).startswith(f"{path}:3: ")


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(OutcomesFormatError, match="no records"):
        read_outcomes(_write(tmp_path, [""]))


def test_record_json_omits_unset_fields() -> None:
    record = OutcomeRecord(
        id="a", task="t", messages=({"role": "user", "content": "hi"},),
        outcomes={"m": ModelOutcome(score=0.5)},
    )  # fmt: skip
    assert record.to_json() == {
        "id": "a", "task": "t", "messages": [{"role": "user", "content": "hi"}],
        "outcomes": {"m": {"score": 0.5}},
    }  # fmt: skip


def test_logprob_summaries_round_trip_and_stay_optional(tmp_path: Path) -> None:
    summary = {"mean": -0.25, "min": -2.5, "tokens": 7}
    path = _write(tmp_path, [GOOD, {**_with_logprobs(summary), "id": "q2"}])
    first, second = read_outcomes(path)
    assert first.outcomes["small"].logprobs is None  # not recorded: missing, not zero
    assert second.outcomes["small"].logprobs == LogprobSummary(-0.25, -2.5, 7)
    assert second.to_json()["outcomes"]["small"]["logprobs"] == summary
    assert "logprobs" not in first.to_json()["outcomes"]["small"]


@pytest.mark.parametrize("field", ["cost_usd", "score"])
def test_an_integer_beyond_float_range_is_a_bad_number(tmp_path: Path, field: str) -> None:
    big = {**GOOD["outcomes"]["big"], field: 10**400}
    path = _write(
        tmp_path, [GOOD, {**GOOD, "id": "q2", "outcomes": {**GOOD["outcomes"], "big": big}}]
    )
    with pytest.raises(OutcomesFormatError, match=rf"{field} must be a number") as caught:
        read_outcomes(path)
    assert caught.value.line == 2
    after_the_path = str(caught.value).removeprefix(str(path))
    assert len(after_the_path) < 120  # the 401 digits are cut short
    assert "(401 characters)" in after_the_path


def test_an_outcomes_file_and_the_directories_made_for_it_are_private(tmp_path: Path) -> None:
    """Outcomes hold a team's prompts and answers, as the ledger and cache do: under a
    umask of 0 the file was written 0666 and its new directories 0777."""
    target = tmp_path / "evals" / "june" / "outcomes.jsonl"
    previous = os.umask(0)
    try:
        write_outcomes(target, [OutcomeRecord(id="q1", task="qa", messages=(), outcomes={})])
    finally:
        os.umask(previous)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [stat.S_IMODE(d.stat().st_mode) for d in (target.parent, target.parent.parent)] == [
        0o700,
        0o700,
    ]


def test_an_outcomes_file_written_over_a_readable_one_is_made_private(tmp_path: Path) -> None:
    """Written over an existing file, the outcomes kept that file's mode (0644 if it was
    made with ``touch`` under umask 022)."""
    target = tmp_path / "outcomes.jsonl"
    target.write_text("older outcomes\n")
    target.chmod(0o644)
    write_outcomes(target, [OutcomeRecord(id="q1", task="qa", messages=(), outcomes={})])
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    (line,) = target.read_text().splitlines()
    assert json.loads(line)["id"] == "q1"


def test_a_duplicate_id_names_the_line_that_has_it_first_and_what_to_do(tmp_path: Path) -> None:
    """'duplicate id' alone left the user to search a file of thousands of lines."""
    path = _write(tmp_path, [GOOD, {**GOOD, "id": "q2"}, "", {**GOOD, "id": "q2"}])
    with pytest.raises(OutcomesFormatError) as caught:
        read_outcomes(path)
    assert caught.value.line == 4
    message = str(caught.value)
    assert "duplicate id 'q2', first on line 2" in message
    assert "give each record its own id" in message


@pytest.mark.parametrize(
    ("outcomes", "what"),
    [
        ({"big": GOOD["outcomes"]["big"]}, "lacks an outcome of ['small']"),
        (
            {**GOOD["outcomes"], "new": GOOD["outcomes"]["big"]},
            "has an outcome of ['new'], which line 1 has not",
        ),
    ],
)
def test_a_line_with_other_models_names_them_and_what_to_do(
    tmp_path: Path, outcomes: dict[str, object], what: str
) -> None:
    """A model missing from one line (a failed call in the eval run) is the common case."""
    path = _write(tmp_path, [GOOD, {**GOOD, "id": "q2", "outcomes": outcomes}])
    with pytest.raises(OutcomesFormatError) as caught:
        read_outcomes(path)
    message = str(caught.value)
    assert caught.value.line == 2
    assert what in message
    assert "record every model's outcome on every line" in message
