"""Shadow evaluation on the request path: sample answered calls, evaluate them off the path.

`Shadow.observe` is called once per answered call, at the end of the flow, after the
record is written. It only decides and enqueues (a dict lookup, a random draw, a
non-blocking put): the reference model's call, the judge and the database write run
on the shadow queue's threads (`shadow.queue.SampleQueue`), so they never delay or
fail the user's call, and a full queue drops the sample and counts it.

The reference model is called inline (`_children.call_child`, as the cascade calls a
tier), priced by the router's `Accountant` and recorded in the router's ledger with
``purpose = "shadow"``, so shadow spend is accounted like production spend and kept
apart from it. Each of these calls reserves on the router's global and per-task budgets
first (`_shadow_budget`): a sample a budget refuses, or whose reservation a budget
store that is down cannot take, is dropped and counted, as a full queue drops one.
`NoShadow` is the collaborator of a router without shadow evaluation.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.messages import AIMessage, BaseMessage

from langchain_costrouter._secrets import error_text
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.logprobs import LogprobSummary, message_logprobs
from langchain_costrouter.metadata import AttemptRecord, CallSink, Purpose
from langchain_costrouter.router import _savings as savings
from langchain_costrouter.router._accounting import Accountant, call_record
from langchain_costrouter.router._budget import Budgets
from langchain_costrouter.router._children import call_child, first_message
from langchain_costrouter.router._request import Request
from langchain_costrouter.router._shadow_budget import (
    BudgetStoreDownError,
    OverBudgetError,
    ShadowBudgets,
)
from langchain_costrouter.routes import Deployment, Route, known_models
from langchain_costrouter.shadow.config import ShadowConfig
from langchain_costrouter.shadow.evaluate import Sample, Scored, evaluated_row, score_answer
from langchain_costrouter.shadow.queue import QueueStats, SampleQueue
from langchain_costrouter.shadow.rows import SampleRow

if TYPE_CHECKING:  # the store needs SQLAlchemy: imported when a shadow is opened
    from langchain_costrouter.shadow.store import ShadowStore

SHADOW_PURPOSE: Purpose = "shadow"
_PRUNE_EVERY_S = 3600.0


class Shadow(Protocol):
    """The flow's last collaborator: sees each answered call, may sample it."""

    def observe(self, request: Request, message: AIMessage) -> None: ...


class NoShadow:
    """A router without shadow evaluation."""

    __slots__ = ()

    def observe(self, request: Request, message: AIMessage) -> None:
        """No task is shadowed."""


@dataclass(frozen=True)
class ShadowStats:
    """What shadow evaluation did since the router was built."""

    sampled: int
    dropped: int
    """Sampled while the queue was full: never evaluated."""
    evaluated: int
    failed: int
    """Evaluations that ended without a score (a provider error, no verdict)."""
    waiting: int
    over_budget: int = 0
    """Dropped because a budget refused the reference's or the judge's call: never
    evaluated nor stored (calls it made before the refused one are in the ledger, and
    counted on the budgets)."""
    budget_store_down: int = 0
    """Dropped because the budget store could not reserve the reference's or the judge's
    call (down, with ``on_budget_store_error="refuse"``): never evaluated nor stored.
    Apart from `over_budget`, which says a limit is too low for the sampling rate: this
    says the store needs looking at."""


class RouterShadow:
    """Samples a router's answered calls and evaluates them against the reference model."""

    def __init__(
        self,
        config: ShadowConfig,
        routes: Mapping[str, Route],
        accountant: Accountant,
        ledger: CallSink,
        store: ShadowStore,
        budgets: Budgets,
    ) -> None:
        self.config = config
        self.store = store
        self._accountant = accountant
        self._ledger = ledger
        unrouted = sorted(set(config.tasks) - set(routes))
        if unrouted:
            raise ConfigError(
                f"{unrouted} have no route; routed tasks: {', '.join(routes)}", key="shadow.tasks"
            )
        deployments = known_models(routes.values())
        reference = config.reference_model or accountant.reference_model
        self.reference = _deployment(deployments, reference, "reference_model")
        judge = config.scorer.judge_model
        self.judge = None if judge is None else _deployment(deployments, judge, "score")
        models = [("reference_model", self.reference)]
        if self.judge is not None:
            models.append(("score", self.judge))
        self._budgets = ShadowBudgets(budgets, models)
        self._rng = random.Random(config.seed)
        self.queue: SampleQueue[Sample] = SampleQueue(
            self._evaluate, maxsize=config.queue_size, workers=config.workers
        )
        self._failed = self._over_budget = self._store_down = 0
        self._counts_lock = threading.Lock()
        self._pruned_at = 0.0
        if config.policy is not None:
            # Imported here: the calibration code is needed only when a policy is named.
            from langchain_costrouter.shadow.promise import policy_promises

            store.record_promises(policy_promises(config.policy))

    def observe(self, request: Request, message: AIMessage) -> None:
        """Enqueue a sampled share of the opted-in tasks' routed answers; never blocks."""
        task = self.config.task(request.task)
        if task is None or request.route.version.startswith("pinned:"):
            return  # not opted in, or a call that asked for one model by name
        if self._rng.random() >= task.rate:
            return
        record = message.response_metadata.get("costrouter") or {}
        served = [a for a in record.get("attempts", ()) if a.get("accepted")]
        # The served answer's own cost, not the call's: the call's also pays the tiers
        # it escalated past and a compressor, which are not what this model costs.
        cost = served[-1].get("cost_usd") if served else None
        self.queue.offer(
            Sample(
                SampleRow(
                    run_id=request.run_id,
                    time=datetime.now(UTC),
                    task=request.task,
                    namespace=str(record.get("namespace", "")),
                    policy=request.route.version,
                    served_by=str(record.get("served_by", "")),
                    served_tier=served[-1].get("tier") if served else None,
                    reference_model=self.reference.model_id,
                    scorer=self.config.score,
                    score=None,
                    served_cost=None if cost is None else Decimal(repr(cost)),
                ),
                served_text=message.text,
                messages=list(request.messages),
                stop=request.stop,
                kwargs=dict(request.kwargs),
                store_prompts=task.store_prompts,
                served_logprobs=message_logprobs(message),
            )
        )

    def stats(self) -> ShadowStats:
        queued: QueueStats = self.queue.stats()
        with self._counts_lock:
            failed, over_budget, store_down = self._failed, self._over_budget, self._store_down
        return ShadowStats(
            sampled=queued.offered,
            dropped=queued.dropped,
            evaluated=queued.done - failed - over_budget - store_down,
            failed=failed + queued.failed,
            waiting=queued.waiting,
            over_budget=over_budget,
            budget_store_down=store_down,
        )

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every queued sample is evaluated and stored."""
        return self.queue.drain(timeout)

    def close(self, timeout: float = 30.0) -> bool:
        """Evaluate what is queued (up to ``timeout``), then stop the workers and the store.

        When ``timeout`` runs out first, the store stays open for the samples still being
        evaluated (the worker threads end with the process).
        """
        drained = self.queue.close(timeout)
        if drained:
            self.store.close()
        return drained

    # -- on the queue's threads

    def _evaluate(self, sample: Sample) -> None:
        """Evaluate and store one sample; a failure to store it raises to the queue.

        A failed evaluation is counted here only once stored: one whose write raised is
        counted by the queue instead (`stats` adds both), never twice. A sample a budget
        refused, or whose reservation the budget store could not take, is counted and
        dropped; the calls it made are recorded all the same.
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
        """Call ``deployment`` within the budgets (the judge without the sample's stop
        and kwargs); `OverBudgetError` when they refuse the call, `BudgetStoreDownError`
        when their store cannot reserve it."""
        answering = role == "answer"
        stop, kwargs = (sample.stop, dict(sample.kwargs)) if answering else (None, {})
        held = self._budgets.reserve(sample.row.task, deployment, messages, kwargs)
        started = time.perf_counter()
        try:
            message = first_message(call_child(deployment.model, list(messages), stop, kwargs))
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
        self.store.add_sample(row)
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


def open_shadow(
    spec: Any,
    routes: Mapping[str, Route],
    accountant: Accountant,
    ledger: CallSink,
    ledger_url: str | None,
    budgets: Budgets,
) -> Shadow:
    """None: `NoShadow`; a `ShadowConfig`: samples stored in its store, else the ledger's DB.

    The store is closed again when the config is refused after it opened (`RouterShadow`
    checks the tasks' routes, the models and their prices, and records the policy's
    promises in it), so a router that cannot be built leaves no connection behind.
    """
    if spec is None:
        return NoShadow()
    if not isinstance(spec, ShadowConfig):
        raise ConfigError(f"expected a ShadowConfig or None, got {spec!r}", key="shadow")
    url = spec.store or ledger_url
    if url is None or "***" in url:
        raise ConfigError(
            "shadow evaluation needs a database: give ShadowConfig(store=URL) "
            "(or the router a ledger URL, whose database it shares)",
            key="shadow.store",
        )
    from langchain_costrouter.shadow.store import ShadowStore

    store = ShadowStore(url, table_prefix=spec.table_prefix)
    try:  # the checks that follow may refuse the config: the store must not stay open
        return RouterShadow(spec, routes, accountant, ledger, store, budgets)
    except BaseException:
        store.close()
        raise


def _deployment(deployments: Sequence[Deployment], model: str | None, key: str) -> Deployment:
    for deployment in deployments:
        if model in (deployment.model_id, deployment.priced_as, deployment.label):
            return deployment
    known = ", ".join(d.model_id for d in deployments)
    raise ConfigError(
        f"shadow evaluation needs model {model!r} in a route; routed models: {known}",
        key=f"shadow.{key}",
    )


def _cost(attempts: Sequence[AttemptRecord]) -> Decimal | None:
    costs = [a.get("cost_usd") for a in attempts]
    if any(cost is None for cost in costs):
        return None
    return sum((Decimal(repr(cost)) for cost in costs if cost is not None), Decimal(0))
