"""The eval set is read strictly, before any provider is paid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langchain_costrouter.collect.prompts import read_prompts
from langchain_costrouter.errors import OutcomesFormatError
from langchain_costrouter.scoring import parse_scorer

QUESTION = [{"role": "user", "content": "What is 2 + 2?"}]


def write(path: Path, *lines: object) -> Path:
    path.write_text("".join(f"{json.dumps(line)}\n" for line in lines), encoding="utf-8")
    return path


def test_prompts_keep_ids_references_and_extra_keys(tmp_path: Path) -> None:
    path = write(
        tmp_path / "p.jsonl",
        {"id": 1, "messages": QUESTION, "reference": "4", "level": "easy"},
        {"id": "b", "messages": QUESTION, "reference": "5"},
    )
    prompts = read_prompts(path, parse_scorer("numeric"))
    assert [(p.id, p.reference) for p in prompts] == [("1", "4"), ("b", "5")]
    assert prompts[0].extra == {"level": "easy"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ({"messages": QUESTION}, "'id' must be a non-empty string"),
        ({"id": "a", "messages": [{"role": "robot", "content": "x"}]}, "messages\\[0\\]"),
        ({"id": "a", "messages": QUESTION}, "the numeric scorer needs a 'reference'"),
        ({"id": "a", "messages": QUESTION, "reference": 4}, "'reference' must be a string"),
        ({"id": "a", "messages": QUESTION, "reference": "4", "task": "t"}, "written by collect"),
    ],
)
def test_a_bad_line_is_named_with_its_number(tmp_path: Path, line: object, message: str) -> None:
    path = write(tmp_path / "p.jsonl", {"id": "ok", "messages": QUESTION, "reference": "4"}, line)
    with pytest.raises(OutcomesFormatError, match=f"p.jsonl:2: .*{message}"):
        read_prompts(path, parse_scorer("numeric"))


@pytest.mark.parametrize("key", ["version", "scorer", "judge", "cut_by_max_output_tokens"])
def test_keys_collect_writes_on_a_line_are_refused_in_a_prompt(tmp_path: Path, key: str) -> None:
    """Copied to the outcomes line, a prompt's "version": "v2" made the line one that
    calibrate (and the re-run's resume check) refused; a "scorer" or "judge" of its own
    was silently overwritten by collect's."""
    line = {"id": "a", "messages": QUESTION, "reference": "4", key: "v2"}
    with pytest.raises(OutcomesFormatError, match=f"p.jsonl:1: .*'{key}'.*written by collect"):
        read_prompts(write(tmp_path / "p.jsonl", line), parse_scorer("numeric"))


def test_duplicate_ids_and_empty_files_are_refused(tmp_path: Path) -> None:
    line = {"id": "a", "messages": QUESTION}
    with pytest.raises(OutcomesFormatError, match="duplicate id 'a'"):
        read_prompts(write(tmp_path / "d.jsonl", line, line), parse_scorer("judge:m"))
    with pytest.raises(OutcomesFormatError, match="holds no prompts"):
        read_prompts(write(tmp_path / "e.jsonl"), parse_scorer("judge:m"))
