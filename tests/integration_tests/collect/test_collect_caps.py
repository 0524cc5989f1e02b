"""``collect``'s spend cap as a guarantee: output caps, worst-case reservations, scorers.

The test server is scripted to answer at length (the sums answers padded to ~3000
tokens, usage as sent), so only the output cap each call carries bounds what it costs.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from langchain_costrouter.cli import main
from langchain_costrouter.ledger import open_ledger
from langchain_costrouter.testing import LocalOpenAIServer, Reply
from langchain_costrouter.testing.evals import SumsResponder, sum_prompts
from tests.integration_tests.collect.support import _api_key, read_lines, write_config, write_lines

__all__ = ["_api_key"]

PADDING = " and that is the whole story" * 500


class LongAnswers:
    """The sums world's answers and verdicts, each followed by a long tail."""

    def __init__(self) -> None:
        self.inner = SumsResponder(strong="strong", weak="weak", judge="judge")

    def __call__(self, body: dict[str, Any]) -> Reply | None:
        reply = self.inner(body)
        return None if reply is None else Reply((reply.text or "") + PADDING)


def args(tmp_path: Path, server: LocalOpenAIServer, score: str, *extra: str) -> list[str]:
    config = write_config(tmp_path, server)
    return [
        "collect", str(tmp_path / "prompts.jsonl"), "--config", str(config), "--task", "math",
        "--models", "weak,strong", "--score", score, "--out", str(tmp_path / "out.jsonl"),
        "--ledger", ledger_url(tmp_path), "--json", *extra,
    ]  # fmt: skip


def ledger_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


def ledger_spend(tmp_path: Path) -> Decimal:
    with open_ledger(ledger_url(tmp_path)) as ledger:
        return sum((row.cost_usd or Decimal(0) for row in ledger.rows()), Decimal(0))


@pytest.mark.parametrize("score", ["numeric", "judge:judge"])
def test_long_answers_never_take_the_spend_past_the_cap(
    tmp_path: Path,
    openai_server: LocalOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    score: str,
) -> None:
    """Answers of ~3000 tokens against an expected 256, 4 questions at once: the old cap
    reserved the guess and spent several times its cap; the worst case holds it."""
    openai_server.set_responder(LongAnswers())
    write_lines(tmp_path / "prompts.jsonl", sum_prompts(20, seed=5, references=True))
    cap = Decimal("0.004")
    extra = ("--concurrency", "4", "--max-cost-usd", str(cap), "--max-output-tokens", "64")
    code = main(args(tmp_path, openai_server, score, *extra))
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["stop_reason"].startswith("stopped before the --max-cost-usd")
    assert 1 < report["answered"] < 20
    spent = ledger_spend(tmp_path)
    assert spent <= cap
    assert report["spent_usd"] == pytest.approx(float(spent), abs=1e-12)
    sent = [r.body or {} for r in openai_server.requests]
    assert sent and all(body.get("max_completion_tokens") == 64 for body in sent)
    assert max(r.completion_tokens for r in openai_server.requests) == 64
    lines = read_lines(tmp_path / "out.jsonl")
    assert all(line["cut_by_max_output_tokens"] == ["weak", "strong"] for line in lines)
    assert all(line["scorer"] == score for line in lines)
    if score.startswith("judge"):
        assert all(line["judge"]["cut"] == line["judge"]["calls"] for line in lines)
    assert report["cut_by_max_output_tokens"] == report["answered"]


def test_the_dry_run_shows_the_worst_case_the_cap_is_held_to(
    tmp_path: Path, openai_server: LocalOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lines(tmp_path / "prompts.jsonl", sum_prompts(10, seed=1))
    extra = ("--dry-run", "--output-tokens", "100", "--max-output-tokens", "1000")
    assert main(args(tmp_path, openai_server, "judge:judge", *extra)) == 0
    estimate = json.loads(capsys.readouterr().out)["estimate"]
    assert estimate["max_output_tokens"] == 1000
    assert estimate["worst_case_usd"] > 5 * estimate["total_usd"] > 0
    readable = [a for a in args(tmp_path, openai_server, "judge:judge", *extra) if a != "--json"]
    assert main(readable) == 0
    assert "worst case: $" in capsys.readouterr().out
    assert openai_server.request_count() == 0


def test_a_provider_that_ignores_the_output_cap_stops_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A server that never reads the cap field (llama.cpp and max_completion_tokens): the
    worst case bounds nothing there, so no further question is admitted."""
    with LocalOpenAIServer(output_cap_fields=()) as server:
        server.set_responder(LongAnswers())
        write_lines(tmp_path / "prompts.jsonl", sum_prompts(20, seed=5, references=True))
        extra = ("--concurrency", "1", "--max-cost-usd", "1", "--max-output-tokens", "64")
        code = main(args(tmp_path, server, "numeric", *extra))
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["answered"] == 1
    assert "answered past --max-output-tokens 64" in report["stop_reason"]


def test_resuming_with_another_scorer_is_refused(
    tmp_path: Path, openai_server: LocalOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    openai_server.set_responder(SumsResponder(strong="strong", weak="weak", judge="judge"))
    write_lines(tmp_path / "prompts.jsonl", sum_prompts(4, seed=2, references=True))
    first = args(tmp_path, openai_server, "judge:judge", "--max-output-tokens", "16")
    first += ["--max-cost-usd", "0.0005"]
    assert main(first) == 1
    done = len(read_lines(tmp_path / "out.jsonl"))
    capsys.readouterr()
    calls = openai_server.request_count()
    assert main(args(tmp_path, openai_server, "numeric")) == 2
    err = capsys.readouterr().err
    assert re.search(r"scored by 'judge:judge' \(line 1\), not of 'math' .* by 'numeric'", err)
    assert "the same --task, --models and --score to resume" in err
    assert openai_server.request_count() == calls
    assert len(read_lines(tmp_path / "out.jsonl")) == done  # nothing mixed in
    assert main(args(tmp_path, openai_server, "judge:judge")) == 0  # the same scorer resumes
