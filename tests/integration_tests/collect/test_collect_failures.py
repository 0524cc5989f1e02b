"""``collect`` when some calls of a question fail: nothing paid is lost, uncounted or repaid."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from langchain_costrouter.cli import main
from langchain_costrouter.ledger import open_ledger
from langchain_costrouter.outcomes import read_outcomes
from langchain_costrouter.testing import Fault, LocalOpenAIServer, Reply
from langchain_costrouter.testing.evals import SumsResponder, sum_prompts
from tests.integration_tests.collect.support import _api_key, write_config, write_lines

__all__ = ["_api_key"]


class Files:
    """One test's config (no retries: a 500 fails the call), eval set, outcomes and ledger."""

    def __init__(self, tmp_path: Path, server: LocalOpenAIServer) -> None:
        self.config = write_config(tmp_path, server, router="max_retries = 0")
        self.prompts = tmp_path / "prompts.jsonl"
        self.out = tmp_path / "outcomes.jsonl"
        self.ledger = f"sqlite:///{tmp_path / 'ledger.sqlite'}"

    def args(self, *extra: str) -> list[str]:
        return [
            "collect", str(self.prompts), "--config", str(self.config), "--task", "math",
            "--models", "weak,strong", "--score", "numeric", "--out", str(self.out),
            "--ledger", self.ledger, *extra,
        ]  # fmt: skip

    def collect(self, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, Any]:
        code = main(self.args("--json", *extra))
        return code, json.loads(capsys.readouterr().out)

    def ledger_spend(self) -> tuple[Decimal, list[str]]:
        """What the ledger says the runs spent, and the status of every strong row."""
        with open_ledger(self.ledger) as ledger:
            rows = ledger.rows()
        spend = sum((row.cost_usd or Decimal(0) for row in rows), Decimal(0))
        return spend, [row.reason or "" for row in rows if row.model == "strong"]


@pytest.fixture
def files(tmp_path: Path, openai_server: LocalOpenAIServer) -> Files:
    openai_server.set_responder(SumsResponder(strong="strong", weak="weak", judge="judge"))
    return Files(tmp_path, openai_server)


def test_a_question_whose_other_model_failed_waits_for_the_calls_still_running(
    files: Files, openai_server: LocalOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The weak model failed at once while the strong one was still answering: the
    question ended there, its strong call ran on unowned, and the run's end cancelled it
    (the ledger held a cancelled strong call, the report's spend missed it)."""
    write_lines(files.prompts, sum_prompts(1, seed=1, references=True))
    openai_server.script([Fault("500")], model="weak")
    openai_server.script([Reply("The answer is 739.", latency=0.5)], model="strong")
    code, report = files.collect(capsys)
    assert code == 1 and list(report["failed"]) == ["sum-1-0"]
    spend, strong = files.ledger_spend()
    assert len(strong) == 1 and "cancel" not in strong[0]
    assert openai_server.request_count("strong") == 1
    assert Decimal(repr(report["spent_usd"])) == spend > 0


def test_a_rerun_reuses_the_answers_a_failed_question_already_paid_for(
    files: Files, openai_server: LocalOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """A question whose weak call failed was asked again whole: the re-run paid the
    strong model a second time for an answer the first run had already bought."""
    write_lines(files.prompts, sum_prompts(3, seed=1, references=True))
    openai_server.script([Fault("500")], model="weak")
    code, first = files.collect(capsys, "--concurrency", "1")
    assert code == 1 and first["answered"] == 2 and len(first["failed"]) == 1
    assert openai_server.request_count("strong") == 3
    code, second = files.collect(capsys)
    assert openai_server.request_count("strong") == 3  # the kept answer, not a new call
    assert code == 0 and second["answered"] == 1 and second["reused_answers"] == 1
    assert openai_server.request_count("weak") == 3 + 1
    spend, _ = files.ledger_spend()
    assert Decimal(repr(first["spent_usd"])) + Decimal(repr(second["spent_usd"])) == spend
    lines = [json.loads(line) for line in files.out.read_text().splitlines()]
    (asked_again,) = [line for line in lines if line["id"] in first["failed"]]
    assert asked_again["outcomes"]["strong"]["cost_usd"] > 0  # what the answer cost
    assert not Path(f"{files.out}.answers").exists()  # every question has its line


def test_answers_kept_for_a_question_changed_since_are_not_reused(
    files: Files, openai_server: LocalOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts = sum_prompts(1, seed=1, references=True)
    write_lines(files.prompts, prompts)
    openai_server.script([Fault("500")], model="weak")
    assert files.collect(capsys)[0] == 1
    prompts[0]["messages"] = [{"role": "user", "content": "What is 2 + 3?"}]
    prompts[0]["reference"] = "5"
    write_lines(files.prompts, prompts)
    code, report = files.collect(capsys)
    assert openai_server.request_count("strong") == 2
    assert code == 0 and report["reused_answers"] == 0


def test_a_second_run_on_the_same_out_is_refused_while_the_first_runs(
    files: Files, openai_server: LocalOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two runs on one --out (a second terminal, a retried CI job) both asked every
    question not yet written: each was paid twice and --out held every id twice, which
    calibrate refuses ('duplicate id')."""
    write_lines(files.prompts, sum_prompts(2, seed=1, references=True))
    openai_server.set_latency(0.5)
    first = subprocess.Popen(
        [sys.executable, "-m", "langchain_costrouter", *files.args("--concurrency", "1")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while openai_server.request_count() == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert main(files.args()) == 2
    assert "another costrouter collect is writing" in capsys.readouterr().err
    assert first.wait(60) == 0, first.stderr.read() if first.stderr else None
    assert openai_server.request_count() == 2 * 2
    assert sorted(r.id for r in read_outcomes(files.out)) == ["sum-1-0", "sum-1-1"]
