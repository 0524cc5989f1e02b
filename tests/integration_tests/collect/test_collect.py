"""``costrouter collect`` against the test server: every scorer, resume, the cost cap, 429s."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import HumanMessage
from langchain_core.outputs import LLMResult

from langchain_costrouter.cli import main
from langchain_costrouter.collect import CallLimits, CollectOptions, collect
from langchain_costrouter.collect.calls import Caller
from langchain_costrouter.collect.setup import collect_router
from langchain_costrouter.ledger import open_ledger
from langchain_costrouter.outcomes import read_outcomes
from langchain_costrouter.testing import Fault, LocalOpenAIServer, Reply
from langchain_costrouter.testing.evals import SumsResponder, sum_prompts
from tests.integration_tests.collect.support import (
    KEY_ENV,
    _api_key,
    read_lines,
    write_config,
    write_lines,
)

__all__ = ["_api_key"]

# (scorer, reference, the strong model's answer, the weak model's answer)
DETERMINISTIC = [
    ("exact", "paris.", "Paris", "Lyon"),
    ("numeric", "1234", "The total is 1,234.", "About 1200."),
    ("choice", "B", "The answer is (B).", "(C) is right"),
    ("regex:^label: (spam|ham)$", "spam", "label: spam", "label: ham"),
    ("json", '{"b": [2], "a": 1}', '```json\n{"a": 1, "b": [2]}\n```', '{"a": 2}'),
]


class Run:
    """One test's files and the CLI on them."""

    def __init__(self, tmp_path: Path, server: LocalOpenAIServer) -> None:
        self.config = write_config(tmp_path, server)
        self.out = tmp_path / "outcomes.jsonl"
        self.prompts = tmp_path / "prompts.jsonl"
        self.ledger = f"sqlite:///{tmp_path / 'ledger.sqlite'}"

    def args(self, score: str, *extra: str) -> list[str]:
        return [
            "collect", str(self.prompts), "--config", str(self.config), "--task", "math",
            "--models", "weak,strong", "--score", score, "--out", str(self.out),
            "--ledger", self.ledger, *extra,
        ]  # fmt: skip

    def json(self, capsys: pytest.CaptureFixture[str], score: str, *extra: str) -> Any:
        code = main([*self.args(score, "--json", *extra)])
        report = json.loads(capsys.readouterr().out)
        return code, report


@pytest.fixture
def run(tmp_path: Path, openai_server: LocalOpenAIServer) -> Run:
    return Run(tmp_path, openai_server)


@pytest.mark.parametrize(("score", "reference", "right", "wrong"), DETERMINISTIC)
def test_each_deterministic_scorer(
    run: Run,
    openai_server: LocalOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    score: str,
    reference: str,
    right: str,
    wrong: str,
) -> None:
    answers = {"strong": right, "weak": wrong}
    openai_server.set_responder(lambda body: Reply(answers[body["model"]]))
    line = {"id": "q1", "messages": [{"role": "user", "content": "?"}], "reference": reference}
    write_lines(run.prompts, [line] if not score.startswith("regex") else [{"id": "q1", **line}])
    code, report = run.json(capsys, score)
    assert code == 0 and report["answered"] == 1
    (record,) = read_outcomes(run.out)
    assert {m: o.score for m, o in record.outcomes.items()} == {"strong": 1.0, "weak": 0.0}
    assert record.outcomes["strong"].text == right
    assert "judge" not in record.extra


def test_pairwise_judge_scores_against_the_strongest_in_both_orders(
    run: Run, openai_server: LocalOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    world = SumsResponder(strong="strong", weak="weak", judge="judge")
    openai_server.set_responder(world)
    prompts = sum_prompts(12, seed=5)
    write_lines(run.prompts, prompts)
    code, report = run.json(capsys, "judge:judge")
    assert code == 0 and report["answered"] == 12
    judge_calls = openai_server.request_count("judge")
    assert judge_calls == 2 * 12  # both orders, the weak model against the strong one
    for record in read_outcomes(run.out):
        a, b = map(int, record.messages[0]["content"][8:-1].split(" + "))
        weak_right = world._weak_answer(a, b).endswith(f" {a + b}.")
        assert record.outcomes["strong"].score == 1.0
        assert record.outcomes["weak"].score == (1.0 if weak_right else 0.0)
        assert record.extra["judge"]["model"] == "judge" and record.extra["judge"]["calls"] == 2
        assert record.extra["judge"]["cost_usd"] > 0


def test_graded_judge_with_references_and_costs_that_match_the_ledger(
    run: Run, openai_server: LocalOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    world = SumsResponder(strong="strong", weak="weak", judge="judge")
    openai_server.set_responder(world)
    write_lines(run.prompts, sum_prompts(8, seed=6, references=True))
    code, report = run.json(capsys, "judge:judge")
    assert code == 0
    assert openai_server.request_count("judge") == 2 * 8  # one rating per model
    records = read_outcomes(run.out)
    assert all(r.outcomes["strong"].score == 1.0 for r in records)
    assert {r.outcomes["weak"].score for r in records} <= {0.0, 1.0}
    with open_ledger(run.ledger) as ledger:
        rows = ledger.rows()
    assert {row.purpose for row in rows} == {"eval"}  # kept apart from production
    assert len(rows) == report["provider_calls"] == openai_server.request_count()
    ledger_spend = sum((row.cost_usd or Decimal(0) for row in rows), Decimal(0))
    assert report["spent_usd"] == pytest.approx(float(ledger_spend), abs=1e-12)
    written = sum(
        Decimal(repr(o.cost_usd or 0)) for r in records for o in r.outcomes.values()
    ) + sum(Decimal(repr(r.extra["judge"]["cost_usd"])) for r in records)
    assert written == ledger_spend


def test_dry_run_sends_nothing_and_prices_the_plan(
    run: Run, openai_server: LocalOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    write_lines(run.prompts, sum_prompts(10, seed=1))
    code, report = run.json(capsys, "judge:judge", "--dry-run", "--output-tokens", "100")
    assert code == 0 and openai_server.request_count() == 0 and not run.out.exists()
    estimate = report["estimate"]
    assert estimate["output_tokens_assumed"] == 100
    parts = sum(estimate["by_model_usd"].values()) + estimate["judge_usd"]
    assert estimate["total_usd"] == pytest.approx(parts)
    assert estimate["by_model_usd"]["strong"] > estimate["by_model_usd"]["weak"] > 0


def test_resume_skips_answered_questions_without_a_provider_call(
    run: Run, openai_server: LocalOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    openai_server.set_responder(SumsResponder(strong="strong", weak="weak", judge="judge"))
    write_lines(run.prompts, sum_prompts(6, seed=2))
    first = read_lines(write_lines(run.out, []))  # an empty file is a fresh start
    assert first == []
    code, report = run.json(
        capsys, "judge:judge", "--max-cost-usd", "0.0005", "--output-tokens", "8",
        "--max-output-tokens", "16",
    )  # fmt: skip
    assert code == 1 and 0 < report["answered"] < 6 and report["stop_reason"]
    calls = openai_server.request_count()
    code, report = run.json(capsys, "judge:judge")
    assert code == 0 and report["already_done"] + report["answered"] == 6
    assert openai_server.request_count() == calls + 4 * report["answered"]
    calls = openai_server.request_count()
    code, report = run.json(capsys, "judge:judge")
    assert code == 0 and report["to_do"] == 0 and "answered" not in report
    assert openai_server.request_count() == calls  # nothing left: no provider call at all
    assert sorted(line["id"] for line in read_lines(run.out)) == [f"sum-2-{i}" for i in range(6)]


def test_lines_of_questions_no_longer_in_the_prompts_are_not_counted_as_done(
    run: Run, openai_server: LocalOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Collecting a second eval set into the same --out counted the first set's lines as
    this set's questions done: 4 questions read "4 already done", and once all were
    answered the run said "-2 questions left: run the same command again" and exited 1."""
    openai_server.set_responder(SumsResponder(strong="strong", weak="weak", judge="judge"))
    first = sum_prompts(4, seed=2, references=True)
    second = sum_prompts(2, seed=5, references=True)
    write_lines(run.prompts, first)
    assert run.json(capsys, "numeric")[0] == 0
    write_lines(run.prompts, [*first[:2], *second])  # two asked before, two new
    code, report = run.json(capsys, "numeric")
    assert (report["questions"], report["already_done"], report["to_do"]) == (4, 2, 2)
    assert (code, report["answered"]) == (0, 2)
    assert len(read_lines(run.out)) == 6


def test_the_cost_cap_stops_cleanly_and_keeps_every_finished_line(
    run: Run, openai_server: LocalOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    openai_server.set_responder(SumsResponder(strong="strong", weak="weak", judge="judge"))
    write_lines(run.prompts, sum_prompts(40, seed=3))
    cap = 0.0007
    args = [
        "--max-cost-usd", str(cap), "--concurrency", "3", "--output-tokens", "8",
        "--max-output-tokens", "16",
    ]  # fmt: skip
    code = main(run.args("judge:judge", *args))
    out = capsys.readouterr().out
    assert code == 1
    assert "stopped before the --max-cost-usd cap of $0.0007" in out
    assert "questions left: run the same command again to continue" in out
    lines = read_outcomes(run.out)
    assert 0 < len(lines) < 40
    with open_ledger(run.ledger) as ledger:
        spent = sum((row.cost_usd or Decimal(0) for row in ledger.rows()), Decimal(0))
    assert spent <= Decimal(str(cap))
    assert f"spent ${spent:.6f}" in out  # the printed spend is the ledger's


def test_rate_limits_pause_the_run_and_the_question_is_asked_again(
    tmp_path: Path, openai_server: LocalOpenAIServer
) -> None:
    config = write_config(tmp_path, openai_server, router="max_retries = 1")
    openai_server.set_responder(SumsResponder(strong="strong", weak="weak", judge="judge"))
    openai_server.script([Fault("429", retry_after=0.01)] * 3, model="weak")
    prompts = write_lines(tmp_path / "p.jsonl", sum_prompts(3, seed=4, references=True))
    options = CollectOptions(
        prompts=prompts,
        config=config,
        task="math",
        models=("weak", "strong"),
        score="numeric",
        out=tmp_path / "out.jsonl",
        limits=CallLimits(concurrency=1, cooldown_s=0.01),
        ledger="memory://",
    )
    report = collect(options)
    assert report["answered"] == 3 and report["failed"] == {}
    assert report["rate_limit_pauses"] == 1  # two 429s exhausted one call; the third was retried
    assert openai_server.request_count("weak") == 3 + 3


def test_a_missing_key_ends_the_run_with_one_line(
    run: Run,
    openai_server: LocalOpenAIServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEY_ENV)
    write_lines(run.prompts, sum_prompts(2, seed=1, references=True))
    assert main(run.args("numeric", "--concurrency", "1")) == 2
    err = capsys.readouterr().err
    assert err.startswith("costrouter: error: Provider 'local' needs an API key")
    assert KEY_ENV in err
    assert openai_server.request_count() == 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--models", "weak,nope"], "model 'nope' is not in the config's \\[models\\]"),
        (["--score", "bleu"], "expected one of exact, numeric"),
        (["--score", "judge:nope"], "model 'nope' is not in the config"),
    ],
)
def test_bad_arguments_are_one_line_errors(
    run: Run, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    write_lines(run.prompts, sum_prompts(2, seed=1, references=True))
    args = run.args("numeric")
    for flag, value in zip(extra[::2], extra[1::2], strict=True):
        args[args.index(flag) + 1] = value
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("costrouter: error: ")

    assert re.search(message, err)


async def test_eval_calls_carry_the_eval_purpose_into_the_record(
    run: Run, openai_server: LocalOpenAIServer
) -> None:
    openai_server.set_responder(SumsResponder(strong="strong", weak="weak", judge="judge"))
    router = collect_router(run.config, "math", ["weak", "strong"], ledger="memory://")
    seen: list[dict[str, Any]] = []

    class Records(BaseCallbackHandler):
        def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
            message = response.generations[0][0].message  # type: ignore[attr-defined]
            seen.append(message.response_metadata["costrouter"])

    router.callbacks = [Records()]
    answer = await Caller(router, "math", CallLimits()).ask(
        "weak", [HumanMessage("What is 2 + 3?")]
    )
    assert answer.text == "The answer is 5." and answer.cost_usd > 0
    (record,) = seen
    assert (record["purpose"], record["task"], record["served_by"]) == ("eval", "math", "weak")


def test_logprobs_are_recorded_for_the_models_whose_provider_returns_them(
    run: Run, openai_server: LocalOpenAIServer, capsys: pytest.CaptureFixture[str]
) -> None:
    text = run.config.read_text(encoding="utf-8")
    weak = '[models.weak]\nprovider = "local"\n'
    run.config.write_text(text.replace(weak, weak + "params = { logprobs = true }\n"))
    world = SumsResponder(strong="strong", weak="weak", judge="judge")
    openai_server.set_responder(world)
    write_lines(run.prompts, sum_prompts(12, seed=3, references=True))
    code, report = run.json(capsys, "numeric")
    assert code == 0 and report["answered"] == 12
    weak_asked = [e.body.get("logprobs") for e in openai_server.requests if e.model == "weak"]
    assert weak_asked == [True] * 12
    hedged = 0
    for record in read_outcomes(run.out):
        summary = record.outcomes["weak"].logprobs
        assert summary is not None and summary.tokens >= 3
        doubtful = "not sure" in (record.outcomes["weak"].text or "")
        hedged += doubtful
        assert summary.min == (-1.5 if doubtful else -0.05)
        assert record.outcomes["strong"].logprobs is None  # not asked: not recorded
    assert 0 < hedged < 12


def test_the_strongest_of_models_known_under_their_provider_only_is_found(
    tmp_path: Path, openai_server: LocalOpenAIServer
) -> None:
    # genai-prices knows both llamas under groq only: the strongest (the priciest, which
    # the judge compares with and the estimate prices) is ranked under that provider.
    config = tmp_path / "costrouter.toml"
    config.write_text(
        f'[providers.groq]\nbase_url = "{openai_server.base_url}"\napi_key_env = "{KEY_ENV}"\n'
        '[models.small]\nprovider = "groq"\nmodel = "llama-3.1-8b-instant"\n'
        '[models.big]\nprovider = "groq"\nmodel = "llama-3.3-70b-versatile"\n'
        '[routes]\nchat = ["small", "big"]\n',
        encoding="utf-8",
    )
    prompts = write_lines(tmp_path / "p.jsonl", sum_prompts(2, seed=1, references=True))
    options = CollectOptions(
        prompts=prompts, config=config, task="chat", models=("small", "big"), score="exact",
        out=tmp_path / "o.jsonl", dry_run=True, ledger="memory://",
    )  # fmt: skip
    report = collect(options)
    assert report["strongest"] == "big"
    assert report["estimate"]["by_model_usd"]["big"] > report["estimate"]["by_model_usd"]["small"]
    assert openai_server.request_count() == 0
