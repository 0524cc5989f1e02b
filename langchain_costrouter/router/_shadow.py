"""Shadow evaluation on the request path: sample answered calls, evaluate them off the path.

`Shadow.observe` is called once per answered call, at the end of the flow, after the
record is written. It only decides and enqueues (a dict lookup, a random draw, a
non-blocking put): the reference model's call, the judge and the database write run
on the shadow queue's threads (`shadow.queue.SampleQueue`, each sample through
`_shadow_eval.ShadowEvaluation`), so they never delay or fail the user's call, and a
full queue drops the sample and counts it.

Those calls reserve on the router's global and per-task budgets first, then take their
deployment's rate-limit slot (`_shadow_budget`), which is why a router under budgets
refuses, when it is built, a reference or judge model with no price. A sample a budget
refuses, or a rate limit, or whose reservation a budget store that is down cannot
take, is dropped and counted, as a full queue drops one (`ShadowStats`). `NoShadow` is
the collaborator of a router without shadow evaluation.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from langchain_core.messages import AIMessage

from langchain_costrouter.errors import BackendUnavailableWarning, ConfigError
from langchain_costrouter.logprobs import message_logprobs
from langchain_costrouter.metadata import CallSink
from langchain_costrouter.router._accounting import Accountant
from langchain_costrouter.router._budget import Budgets
from langchain_costrouter.router._request import Request
from langchain_costrouter.router._shadow_budget import ShadowBudgets
from langchain_costrouter.router._shadow_eval import SHADOW_PURPOSE as SHADOW_PURPOSE
from langchain_costrouter.router._shadow_eval import ShadowEvaluation
from langchain_costrouter.routes import Deployment, Route, known_models
from langchain_costrouter.shadow.config import ShadowConfig
from langchain_costrouter.shadow.evaluate import Sample
from langchain_costrouter.shadow.queue import QueueStats, SampleQueue
from langchain_costrouter.shadow.rows import SampleRow

if TYPE_CHECKING:  # the store needs SQLAlchemy: imported when a shadow is opened
    from langchain_costrouter.shadow.store import ShadowStore


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
    rate_limited: int = 0
    """Dropped because the reference's or the judge's deployment had no rate-limit slot
    soon enough (`_shadow_budget.RATE_WAIT_SECONDS`): the user's calls come first. Never
    evaluated nor stored; the reservation was given back."""


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
        self._evaluation = ShadowEvaluation(
            config,
            store,
            accountant,
            ledger,
            self.reference,
            self.judge,
            ShadowBudgets(budgets, models),
        )
        self._rng = random.Random(config.seed)
        self.queue: SampleQueue[Sample] = SampleQueue(
            self._evaluation.run, maxsize=config.queue_size, workers=config.workers
        )
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
        ended = self._evaluation.counts()
        return ShadowStats(
            sampled=queued.offered,
            dropped=queued.dropped,
            evaluated=queued.done
            - ended.failed
            - ended.over_budget
            - ended.store_down
            - ended.rate_limited,
            failed=ended.failed + queued.failed,
            waiting=queued.waiting,
            over_budget=ended.over_budget,
            budget_store_down=ended.store_down,
            rate_limited=ended.rate_limited,
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

    def close_warned(self) -> None:
        """`close`, for a router being closed: samples it could not finish are warned
        about, never dropped unseen."""
        if not self.close():
            warnings.warn(
                f"shadow evaluation still had {self.stats().waiting} samples queued when its "
                "router was closed (30 s): they are not evaluated nor stored. Sample fewer "
                "calls (ShadowConfig tasks' rates) or give it more workers",
                BackendUnavailableWarning,
                stacklevel=2,
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
