"""Run an eval set through every named model: bounded, resumable, within a spend cap.

At most ``concurrency`` questions are in flight (and as many provider calls); a
question starts only when the cap admits its worst case (`SpendCap`: every call at the
output cap), and its line is written the moment it is finished. A provider that answers
past the output cap makes the worst case meaningless, so the run stops admitting then.
A question whose calls failed for good (after the router's retries and the run's
rate-limit pauses), or whose judge gave no verdict, is reported and left for a re-run;
an error no retry can fix (a bad key) ends the run, keeping every line written so far.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Never

from tqdm import tqdm

from langchain_costrouter.collect.calls import Caller
from langchain_costrouter.collect.estimate import QuestionCost, SpendCap
from langchain_costrouter.collect.output import CUT_KEY, OutcomesWriter
from langchain_costrouter.collect.questions import Asker, JudgeVerdictError, Question
from langchain_costrouter.errors import AllTiersFailedError, ProviderError


@dataclass
class RunResult:
    """What one run did: lines written, questions failed, spend, and why it stopped."""

    answered: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    """Question id -> why it failed (it is retried by a re-run)."""
    stop_reason: str | None = None
    cut: int = 0
    """Questions with an answer the output cap cut short (see their lines)."""


async def run_questions(
    questions: Sequence[Question],
    asker: Asker,
    costs: QuestionCost,
    cap: SpendCap,
    writer: OutcomesWriter,
) -> RunResult:
    """Answer ``questions`` (the ones not done yet), writing each finished line."""
    result = RunResult()
    pending = iter(questions)
    caller = asker.caller
    bar = tqdm(
        total=len(questions),
        desc=f"collect {asker.task}",
        unit="question",
        file=sys.stderr,
        disable=None,
    )
    with bar:
        workers = [
            asyncio.ensure_future(_worker(pending, asker, costs, cap, writer, result, bar))
            for _ in range(min(caller.limits.concurrency, max(len(questions), 1)))
        ]
        try:
            await asyncio.gather(*workers)
        except BaseException:  # a bad key, a cancellation: stop the other workers too
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
    result.stop_reason = cap.stop_reason
    return result


async def _worker(
    pending: Iterator[Question],
    asker: Asker,
    costs: QuestionCost,
    cap: SpendCap,
    writer: OutcomesWriter,
    result: RunResult,
    bar: tqdm[Never],
) -> None:
    caller = asker.caller
    for question in pending:
        worst_case = costs.worst_case(question.prompt, question.messages)
        reservation = await cap.admit(worst_case, lambda: caller.spent)
        if reservation is None:
            return
        try:
            record = await asker.answer(question)
            writer.write(record)
            result.answered += 1
            result.cut += bool(record.extra.get(CUT_KEY))
        except (AllTiersFailedError, JudgeVerdictError) as error:
            result.failed[question.prompt.id] = str(error)
        except ProviderError as error:
            if not error.retryable:
                raise
            result.failed[question.prompt.id] = str(error)
        finally:
            if caller.over_cap:
                await cap.stop(_over_cap_reason(caller))
            await cap.settle(reservation)
        bar.update(1)
        bar.set_postfix_str(f"${caller.spent:.4f}")


def _over_cap_reason(caller: Caller) -> str:
    return (
        f"stopped: {caller.over_cap} answered past --max-output-tokens "
        f"{caller.limits.max_output_tokens} (the provider ignores the output cap), so "
        "--max-cost-usd cannot be held; check the provider's output_cap_field"
    )
