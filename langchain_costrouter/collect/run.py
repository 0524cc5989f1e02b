"""``collect`` end to end: read the eval set, plan, estimate, then answer what is left.

`collect` returns the report the CLI prints: how many questions the file already had,
how many this run answered or failed, what it spent (models and judge apart, as the
router's records priced it) against the estimate, and why it stopped early, if it did.
The plan gives the expected cost (answers of ``--output-tokens``) and the worst case
(every answer at ``--max-output-tokens``): ``--max-cost-usd`` is held against the
worst case, so a dry run shows what the cap will admit, not only what it will cost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from langchain_costrouter.chat_model import RoutedChatModel
from langchain_costrouter.collect.answers import KeptAnswers, answers_path
from langchain_costrouter.collect.calls import Caller, CallLimits
from langchain_costrouter.collect.estimate import Estimate, QuestionCost, SpendCap, estimate_run
from langchain_costrouter.collect.output import OutcomesWriter, finished_questions, only_run
from langchain_costrouter.collect.prompts import read_prompts
from langchain_costrouter.collect.questions import Asker, Question
from langchain_costrouter.collect.runner import RunResult, run_questions
from langchain_costrouter.collect.setup import collect_router, price_function, strongest_model
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.scoring import parse_scorer

DEFAULT_OUTPUT_TOKENS = 256


@dataclass(frozen=True)
class CollectOptions:
    """What ``costrouter collect`` was asked to do."""

    prompts: Path
    config: Path
    task: str
    models: tuple[str, ...]
    score: str
    out: Path
    limits: CallLimits = field(default_factory=CallLimits)
    max_cost_usd: Decimal | None = None
    dry_run: bool = False
    ledger: str | None = None
    output_tokens: int = DEFAULT_OUTPUT_TOKENS
    """Expected answer length, in tokens, for the estimate (the cap is in ``limits``)."""


def collect(options: CollectOptions) -> dict[str, Any]:
    """Run (or with ``dry_run`` only estimate) the collection; the report as JSON-ready data."""
    if options.dry_run:
        return _collect(options)
    with only_run(options.out):
        return _collect(options)


def _collect(options: CollectOptions) -> dict[str, Any]:
    """`collect` once ``--out`` is this run's alone (a dry run writes nothing to hold)."""
    if len(set(options.models)) != len(options.models) or not options.models:
        raise ConfigError(f"--models needs distinct model names, got {list(options.models)}")
    scorer = parse_scorer(options.score)
    prompts = read_prompts(options.prompts, scorer)
    names = [*options.models, *([scorer.judge_model] if scorer.judge_model else [])]
    router = collect_router(options.config, options.task, names, ledger=options.ledger)
    if scorer.judge_model and len(options.models) < 2 and any(p.reference is None for p in prompts):
        raise ConfigError(
            "a judge without references compares each model with the strongest one: "
            "name at least two --models, or give every prompt a 'reference'"
        )
    finished = finished_questions(options.out, options.task, options.models, scorer.name)
    pending = [Question.of(p, options.task) for p in prompts if p.id not in finished.ids]
    costs = QuestionCost(
        options.models,
        strongest_model(router, options.models),
        scorer,
        price_function(router, names),
        options.output_tokens,
        options.limits.max_output_tokens,
    )
    estimate = estimate_run(costs, [(q.prompt, q.messages) for q in pending])
    # Done are this eval set's questions with a line: --out may hold other sets' lines too.
    done = len(prompts) - len(pending)
    report = _plan(options, len(prompts), done, estimate, costs.strongest)
    report["dropped_partial_line"] = finished.dropped_partial_line
    if options.dry_run:
        return report
    if not pending:
        answers_path(options.out).unlink(missing_ok=True)  # kept for lines written since
        return report
    return {**report, **_collect_pending(options, router, pending, costs)}


def _collect_pending(
    options: CollectOptions, router: RoutedChatModel, pending: list[Question], costs: QuestionCost
) -> dict[str, Any]:
    """Answer the questions not in ``--out`` yet; what the run did and spent."""
    caller = Caller(router, options.task, options.limits)
    cap = SpendCap(options.max_cost_usd)
    with closing(OutcomesWriter(options.out)) as writer, closing(KeptAnswers(options.out)) as kept:
        asker = Asker(caller, options.task, options.models, costs.strongest, costs.scorer, kept)
        result = _run(run_questions(pending, asker, costs, cap, writer))
        if result.answered == len(pending):
            kept.discard()
    ledger = router.ledger_store
    ledger.flush()
    return {**_figures(result, caller), "reused_answers": kept.reused, "ledger": ledger.url}


def _run(work: Coroutine[Any, Any, RunResult]) -> RunResult:
    """Run the async collection from blocking code, also where a loop already runs (Jupyter)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(work)
    with ThreadPoolExecutor(1, thread_name_prefix="costrouter-collect") as thread:
        return thread.submit(asyncio.run, work).result()


def _plan(
    options: CollectOptions, total: int, done: int, estimate: Estimate, strongest: str
) -> dict[str, Any]:
    return {
        "task": options.task,
        "out": str(options.out),
        "models": list(options.models),
        "strongest": strongest,
        "score": options.score,
        "questions": total,
        "already_done": done,
        "to_do": estimate.questions,
        "dry_run": options.dry_run,
        "estimate": {
            "total_usd": float(estimate.total_usd),
            "by_model_usd": {m: float(c) for m, c in estimate.by_model.items()},
            "judge_usd": float(estimate.judge_usd),
            "output_tokens_assumed": estimate.output_tokens,
            "worst_case_usd": float(estimate.worst_case_usd),
            "max_output_tokens": estimate.max_output_tokens,
        },
        "max_cost_usd": None if options.max_cost_usd is None else float(options.max_cost_usd),
    }


def _figures(result: RunResult, caller: Caller) -> dict[str, Any]:
    return {
        "answered": result.answered,
        "failed": result.failed,
        "stop_reason": result.stop_reason,
        "cut_by_max_output_tokens": result.cut,
        "spent_usd": float(caller.spent),
        "provider_calls": caller.calls,
        "rate_limit_pauses": caller.rate_limited,
    }
