"""What a re-run finds in the outcomes file: finished ids, a cut-off line, another run's file."""

from __future__ import annotations

import stat
from contextlib import closing
from pathlib import Path

import pytest

from langchain_costrouter.collect.output import OutcomesWriter, finished_questions, only_run
from langchain_costrouter.errors import ConfigError, OutcomesFormatError
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord, read_outcomes

MESSAGES = ({"role": "user", "content": "hi"},)


def record(identifier: str, task: str = "t", models: tuple[str, ...] = ("a", "b")) -> OutcomeRecord:
    outcomes = {model: ModelOutcome(score=1.0, text="x", cost_usd=0.001) for model in models}
    return OutcomeRecord(identifier, task, MESSAGES, outcomes)


def test_finished_ids_are_read_back(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert finished_questions(out, "t", ["a", "b"]).ids == frozenset()
    with closing(OutcomesWriter(out)) as writer:
        writer.write(record("q1"))
        writer.write(record("q2"))
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert finished_questions(out, "t", ["b", "a"]).ids == {"q1", "q2"}


def test_a_cut_off_last_line_is_dropped_and_said(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with closing(OutcomesWriter(out)) as writer:
        writer.write(record("q1"))
    with out.open("a") as handle:
        handle.write('{"id": "q2", "task": "t", "mess')  # a kill in the middle of a write
    finished = finished_questions(out, "t", ["a", "b"])
    assert finished.ids == {"q1"} and finished.dropped_partial_line
    with closing(OutcomesWriter(out)) as writer:
        writer.write(record("q2"))
    assert [r.id for r in read_outcomes(out)] == ["q1", "q2"]


def test_a_complete_last_line_without_its_newline_is_kept(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with closing(OutcomesWriter(out)) as writer:
        writer.write(record("q1"))
    out.write_bytes(out.read_bytes().rstrip(b"\n"))  # an editor saved it without the newline
    finished = finished_questions(out, "t", ["a", "b"])
    assert finished.ids == {"q1"} and not finished.dropped_partial_line
    with closing(OutcomesWriter(out)) as writer:
        writer.write(record("q2"))
    assert [r.id for r in read_outcomes(out)] == ["q1", "q2"]


def test_another_runs_file_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with closing(OutcomesWriter(out)) as writer:
        writer.write(record("q1", models=("a", "c")))
    with pytest.raises(ConfigError, match="holds outcomes of task 't' for models"):
        finished_questions(out, "t", ["a", "b"])
    with pytest.raises(ConfigError, match="give another --out"):
        finished_questions(out, "other", ["a", "c"])


def test_a_file_scored_by_another_scorer_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    judged = OutcomeRecord("q1", "t", MESSAGES, record("q1").outcomes, extra={"scorer": "judge:j"})
    with closing(OutcomesWriter(out)) as writer:
        writer.write(judged)
    with pytest.raises(ConfigError, match=r"scored by 'judge:j' \(line 1\).* by 'numeric'"):
        finished_questions(out, "t", ["a", "b"], "numeric")
    with pytest.raises(ConfigError, match="the same --task, --models and --score to resume"):
        finished_questions(out, "t", ["a", "b"], "numeric")
    assert finished_questions(out, "t", ["a", "b"], "judge:j").ids == {"q1"}


def test_lines_written_before_scorers_were_recorded_still_resume(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with closing(OutcomesWriter(out)) as writer:
        writer.write(record("q1"))  # no "scorer" key: an older collect's line
    assert finished_questions(out, "t", ["a", "b"], "numeric").ids == {"q1"}


def test_a_bad_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("not json\n", encoding="utf-8")
    with pytest.raises(OutcomesFormatError, match=r"out\.jsonl:1"):
        finished_questions(out, "t", ["a", "b"])


def test_a_run_that_fails_before_writing_leaves_no_out_file(tmp_path: Path) -> None:
    """``--out`` was created as the run took it, before its input was read: a run that
    failed at once (a missing prompts file) left an empty outcomes file behind."""
    out = tmp_path / "outcomes.jsonl"
    with pytest.raises(ConfigError), only_run(out):
        raise ConfigError("no prompts file")
    assert not out.exists()
    out.write_text("kept\n")
    with only_run(out):
        pass
    assert out.read_text() == "kept\n"  # a file that was there stays, as it was
