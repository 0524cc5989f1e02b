"""One shadow sample evaluated, on the shadow queue's threads: never on the user's call.

`RouterShadow` (`_shadow`) samples answered calls and queues them; each worker thread
hands a sample to `ShadowEvaluation.run`. The reference model answers the sampled
prompt inline (`_child_streams.read_child`, as the cascade calls a tier), the scorer (a
judge, when it is one) scores the served answer against that answer, and the result
is stored in the shadow tables. Each of these calls reserves on the router's budgets
first (`_shadow_budget`), is priced by the router's `Accountant` and is recorded in the
router's ledger with ``purpose = "shadow"``, so shadow spend is accounted like
production spend and kept apart from it.

A sample ends one of five ways, each counted once (`EvaluationCounts`): scored and
stored; failed (a provider error, no verdict) and stored with its error; refused by a
budget, refused a rate-limit slot, or not reservable because the budget store is down:
dropped, nothing stored, since the models were never asked to answer it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter._secrets import error_text
from langchain_costrouter.cache.keys import (
    DEFAULT_NORMALIZATION,
    KEY_VERSION,
    digest,
    message_form,
)
from langchain_costrouter.logprobs import LogprobSummary, message_logprobs
from langchain_costrouter.metadata import AttemptRecord, CallSink, Purpose
from langchain_costrouter.router import _savings as savings
from langchain_costrouter.router._accounting import Accountant, call_record
from langchain_costrouter.router._child_streams import read_child
from langchain_costrouter.router._children import first_message
from langchain_costrouter.router._shadow_budget import (
    BudgetStoreDownError,
    OverBudgetError,
    RateLimitedError,
    ShadowBudgets,
)
from langchain_costrouter.routes import Deployment
from langchain_costrouter.shadow.config import ShadowConfig
from langchain_costrouter.shadow.evaluate import Sample, Scored, evaluated_row, score_answer

if TYPE_CHECKING:  # the store needs SQLAlchemy: imported when a shadow is opened
    from langchain_costrouter.shadow.store import ShadowStore

SHADOW_PURPOSE: Purpose = "shadow"
_PRUNE_EVERY_S = 3600.0


@dataclass(frozen=True)
class EvaluationCounts:
    """How the samples that did not end scored ended (a write that raised is the queue's)."""

    failed: int
    over_budget: int
    store_down: int
    rate_limited: int


class ShadowEvaluation:
    """Evaluates samples against ``reference`` (scored by ``judge`` when the scorer asks
    one) and stores them; `run` is the shadow queue's job."""

    def __init__(
        self,
        config: ShadowConfig,
        store: ShadowStore,
        accountant: Accountant,
        ledger: CallSink,
        reference: Deployment,
        judge: Deployment | None,
        budgets: ShadowBudgets,
    ) -> None:
        self.config = config
        self.store = store
        self.reference = reference
        self.judge = judge
        self._accountant = accountant
        self._ledger = ledger
        self._budgets = budgets
        self._failed = self._over_budget = self._store_down = self._rate_limited = 0
        self._counts_lock = threading.Lock()
        self._pruned_at = 0.0

    def counts(self) -> EvaluationCounts:
        with self._counts_lock:
            return EvaluationCounts(
                self._failed, self._over_budget, self._store_down, self._rate_limited
            )

    def run(self, sample: Sample) -> None:
        """Evaluate and store one sample; a failure to store it raises to the queue.

        A failed evaluation is counted here only once stored: one whose write raised is
        counted by the queue instead (`RouterShadow.stats` adds both), never twice. A
        sample a budget refused, or a rate limit, or whose reservation the budget store
        could not take, is counted and dropped; the calls it made are recorded all the same.
        """
        if sample.row.served_by == self.reference.model_id:  # the yardstick answered itself
            self._store(sample, Scored(1.0, Decimal(0)), sample.served_text, Decimal(0))
            return
        attempts: list[AttemptRecord] = []
        try:
            answer = self._call(self.reference, sample.messages, sample, attempts, "answer")
            judge = self._judge(sample, attempts)
            scored = score_answer(self.config.scorer, sample, answer.text, judge)
        except OverBudgetError:
            self._count("_over_budget")
            return
        except RateLimitedError:
            self._count("_rate_limited")
            return
        except BudgetStoreDownError:  # not the models' failure: nothing to store
            self._count("_store_down")
            return
        except Exception as error:  # a provider fault: stored as a failed evaluation
            reason = f"{type(error).__name__}: {error_text(error, self.reference.model, 200)}"
            failed = Scored(None, Decimal(0), reason)
            self._store(sample, failed, None, None)
            self._count("_failed")
            return
        finally:
            self._record(sample, attempts)
        self._store(sample, scored, answer.text, _cost(attempts[:1]), message_logprobs(answer))
        if scored.score is None:
            self._count("_failed")

    def _count(self, counter: str) -> None:
        with self._counts_lock:
            setattr(self, counter, getattr(self, counter) + 1)

    def _judge(self, sample: Sample, attempts: list[AttemptRecord]) -> Any:
        judge = self.judge
        if judge is None:
            return None

        def ask(prompt: Sequence[BaseMessage]) -> tuple[str, Decimal | None]:
            reply = self._call(judge, prompt, sample, attempts, "judge")
            return reply.text, _cost(attempts[-1:])

        return ask

    def _call(
        self,
        deployment: Deployment,
        messages: Sequence[BaseMessage],
        sample: Sample,
        attempts: list[AttemptRecord],
        role: str,
    ) -> AIMessage:
        """Call ``deployment`` within the budgets and rate limits (the judge without the
        sample's stop and kwargs); `OverBudgetError` when a budget refuses the call,
        `RateLimitedError` when no rate slot comes soon enough, `BudgetStoreDownError`
        when their store cannot reserve it."""
        answering = role == "answer"
        stop, kwargs = (sample.stop, dict(sample.kwargs)) if answering else (None, {})
        held = self._budgets.reserve(sample.row.task, deployment, messages, kwargs)
        started = time.perf_counter()
        try:
            message = first_message(read_child(deployment.model, list(messages), stop, kwargs, []))
            attempt = self._accountant.attempt(deployment, message, messages)
        except BaseException:
            self._budgets.release(held)
            raise
        self._budgets.settle(held, attempt)
        latency = (time.perf_counter() - started) * 1000
        attempt.update({"tier": 0, "accepted": answering, "latency_ms": latency})
        attempt.update({"reason": f"shadow {role}", "role": role})
        attempts.append(attempt)
        return message

    def _record(self, sample: Sample, attempts: list[AttemptRecord]) -> None:
        """The shadow calls in the ledger, as one call with purpose "shadow".

        Its baseline is the reference answer itself, so its levers show the judge's
        calls as spent (a negative cascade saving), kept apart from production's.
        """
        if not attempts:
            return
        extra = {"purpose": SHADOW_PURPOSE, "shadow_of": sample.row.run_id}
        served = attempts[0]
        record = call_record(
            task=sample.row.task,
            namespace=sample.row.namespace,
            attempts=attempts,
            served=served,
            accepted=True,
            cache_hit=False,
            extra=extra,
        )
        reference = self.reference
        record["baseline_cost_usd"], record["savings_usd"] = savings.answered(
            self._accountant, attempts, served, reference, reference, extra
        )
        run_id = str(uuid.uuid4())
        model = self._accountant.reference_model
        record.update({"run_id": run_id, "reference_model": model})
        self._ledger.add_call(record, run_id=run_id, when=datetime.now(UTC), reference_model=model)

    def _store(
        self,
        sample: Sample,
        scored: Scored,
        reference_text: str | None,
        cost: Decimal | None,
        reference_logprobs: LogprobSummary | None = None,
    ) -> None:
        row = evaluated_row(
            sample, scored, reference_text, cost, self.config.redact, reference_logprobs
        )
        self.store.add_sample(replace(row, prompt_digest=prompt_digest(sample.messages)))
        self._prune()

    def _prune(self) -> None:
        now = time.monotonic()
        if now - self._pruned_at >= _PRUNE_EVERY_S:
            self._pruned_at = now
            config = self.config
            self.store.prune(
                datetime.now(UTC).replace(tzinfo=None),
                config.prompt_retention_days,
                config.retention_days,
            )


def prompt_digest(messages: Sequence[BaseMessage]) -> str | None:
    """Which prompt a sample asked, computed here, off the user's path, for every sample.

    The cache's canonical form of each message (role, text with leading and trailing
    whitespace stripped as the cache's default does, images, tool calls: what the model
    reads) hashed as the cache hashes its keys, prefixed by its key version; never the
    model or the parameters, so only what was asked. None when a message has no stable
    form (the sample then counts as a prompt of its own).
    """
    try:
        forms = [message_form(message, DEFAULT_NORMALIZATION) for message in messages]
    except TypeError:
        return None
    return f"v{KEY_VERSION}:{digest(forms)}"


def _cost(attempts: Sequence[AttemptRecord]) -> Decimal | None:
    costs = [a.get("cost_usd") for a in attempts]
    if any(cost is None for cost in costs):
        return None
    return sum((Decimal(repr(cost)) for cost in costs if cost is not None), Decimal(0))
