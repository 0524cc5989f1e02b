"""Replay an eval set through the real `RoutedChatModel` and read the figures from its ledger.

This is the product path of ``costrouter calibrate``, ``replay`` and ``demo``: every
record goes through LangChain's ``invoke`` on a router whose children are
`ReplayChatModel`\\ s, so the cascade, the policy's checks, the cache and the ledger
all run exactly as in production. Costs are summed from the ledger rows of the run's
own calls (the replayed provider reports the recorded cost); the quality of a call is
the recorded score of the model that served it. A call can therefore never score
above the per-query oracle.
"""

from __future__ import annotations

import sys
import uuid
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from tqdm import tqdm

from langchain_costrouter.calibration.evaluate import CostFunction, Figures
from langchain_costrouter.calibration.money import ledger_sum
from langchain_costrouter.calibration.policy import Policy
from langchain_costrouter.calibration.policy_routes import routes_from_policy
from langchain_costrouter.chat_model import RoutedChatModel
from langchain_costrouter.errors import ConfigError, UnknownPriceWarning
from langchain_costrouter.ledger import LedgerRow
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord
from langchain_costrouter.pricing import PriceTable
from langchain_costrouter.replay import RECORD_KWARG, ReplayChatModel
from langchain_costrouter.routes import Deployment

REPLAY_PROVIDER = "replay"
_MESSAGE_TYPES = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}


@dataclass(frozen=True)
class ServedCall:
    """One routed call as the ledger recorded it, scored by the served model's outcome."""

    record: OutcomeRecord
    model: str
    quality: float
    cost_usd: Decimal
    """Its rows' costs as the ledger sums them, each in picodollars (`money.ledger_sum`):
    a memory ledger's rows keep the float's every decimal, a database's do not."""
    attempted: tuple[str, ...]
    """Models paid for, in order: the tiers escalated past, then the served one."""
    escalated: bool
    cache_hit: bool
    baseline_usd: Decimal | None = None
    """The call's one baseline as the ledger sums it (None when the reference is unpriced)."""


@dataclass(frozen=True)
class RunSummary:
    """Figures of a set of served calls: what the CLI and the demo print."""

    size: int
    quality: float
    cost_usd: float
    calls_by_model: Mapping[str, int]
    escalations: int
    cache_hits: int

    @classmethod
    def of(cls, calls: Sequence[ServedCall]) -> RunSummary:
        models: Counter[str] = Counter()
        for call in calls:
            models.update(call.attempted)
        return cls(
            size=len(calls),
            quality=sum(call.quality for call in calls) / max(len(calls), 1),
            cost_usd=float(sum((call.cost_usd for call in calls), Decimal(0))),
            calls_by_model=dict(models),
            escalations=sum(call.escalated for call in calls),
            cache_hits=sum(call.cache_hit for call in calls),
        )

    def figures(self) -> Figures:
        return Figures(self.quality, self.cost_usd, self.size, self.calls_by_model)


def record_messages(record: OutcomeRecord) -> list[BaseMessage]:
    """The recorded prompt as LangChain messages, exactly as the replay children expect."""
    return [_MESSAGE_TYPES[m["role"]](content=m["content"]) for m in record.messages]


def replay_deployments(records: Sequence[OutcomeRecord]) -> dict[str, Deployment]:
    """One replay child per recorded model, named by the file's model id."""
    return {
        name: Deployment(
            model=ReplayChatModel(records=records, model_name=name),
            model_id=name,
            provider=REPLAY_PROVIDER,
        )
        for name in sorted(records[0].outcomes)
    }


def replay_router(
    policy: Policy, records: Sequence[OutcomeRecord], **router_options: Any
) -> RoutedChatModel:
    """A router running ``policy`` on replay children (ledger ``memory://`` unless given)."""
    uncovered = sorted({record.task for record in records} - set(policy.tasks))
    if uncovered:
        raise ConfigError(
            f"the policy has no cascade for task labels {uncovered} of these records "
            f"(its tasks: {sorted(policy.tasks)}); calibrate on records with these labels"
        )
    options = {"ledger": "memory://", "namespace": "replay", **router_options}
    routes = routes_from_policy(policy, replay_deployments(records))
    return RoutedChatModel(routes=routes, **options)


def run_records(
    router: RoutedChatModel,
    records: Sequence[OutcomeRecord],
    *,
    label: str = "replay",
    show: bool | None = None,
) -> list[ServedCall]:
    """Invoke the router once per record and read each call back from its ledger.

    Each call names its record to the replay children (`replay.RECORD_KWARG`), so a
    prompt asked by several records is answered, charged and scored as each one's own.

    A progress bar appears on stderr when a run takes longer than half a second
    (by default only when stderr is a terminal; ``show=True`` forces it at once and
    leaves it in place, for a log; False hides it).
    """
    run_ids: dict[str, OutcomeRecord] = {}
    with warnings.catch_warnings():
        # Replayed costs are reported by the provider (the file); an unpriced reference
        # model only leaves the ledger's baseline empty (the demo then shows none).
        warnings.simplefilter("ignore", UnknownPriceWarning)
        bar = tqdm(
            records,
            label,
            unit="call",
            file=sys.stderr,
            delay=0.0 if show else 0.5,
            disable=None if show is None else not show,
            leave=bool(show),
        )
        for record in bar:
            run_id = uuid.uuid4()
            router.invoke(record_messages(record), {"run_id": run_id}, **_replayed(record))
            run_ids[str(run_id)] = record
    ledger = router.ledger_store
    if ledger is None:
        raise ConfigError("replay needs a router with a ledger", key="ledger")
    ledger.flush()
    return served_calls(ledger.rows(), run_ids)


def _replayed(record: OutcomeRecord) -> dict[str, Any]:
    """The call kwargs of a record's replay: its task label and its id for the children."""
    return {"task": record.task, RECORD_KWARG: record.id}


def served_calls(
    rows: Iterable[LedgerRow], run_ids: Mapping[str, OutcomeRecord]
) -> list[ServedCall]:
    """Group ledger rows by run id (other runs' rows are ignored) into scored calls."""
    by_run: dict[str, list[LedgerRow]] = defaultdict(list)
    for row in rows:
        if row.run_id in run_ids:
            by_run[row.run_id].append(row)
    return [_served(run_ids[run_id], by_run.get(run_id, [])) for run_id in run_ids]


def outcome_cost(prices: PriceTable | None = None) -> CostFunction:
    """The cost of an outcome: recorded ``cost_usd``, else its tokens at the price table's price.

    The router prices a replayed answer the same way, so calibration and replay agree.
    """
    table = prices or PriceTable()

    def cost(model: str, outcome: ModelOutcome) -> float:
        if outcome.cost_usd is not None:
            return outcome.cost_usd
        if outcome.input_tokens is None or outcome.output_tokens is None:
            raise ConfigError(
                f"model {model!r} has an outcome with neither cost_usd nor both "
                "input_tokens and output_tokens; record one of them"
            )
        if not table.knows(model):
            # Asked before pricing: `PriceTable.price` would warn first, pointing at this
            # line, and the one error below is what the user can act on.
            raise ConfigError(
                f"model {model!r} has token counts but no price: the price table does not "
                f"know {model!r}. Record cost_usd on its outcomes, name the model by an id "
                "the price table knows (e.g. 'gpt-4o-mini'), or price it from code with "
                "outcome_cost(PriceTable(overrides={model: ModelPrice(...)}))"
            )
        total = outcome.input_tokens + outcome.output_tokens
        usage = {"input_tokens": outcome.input_tokens, "output_tokens": outcome.output_tokens}
        priced = table.price(model, {**usage, "total_tokens": total})
        if priced.cost_usd is None:
            raise ConfigError(f"no price known for model {model!r}; record cost_usd per outcome")
        return float(priced.cost_usd)

    return cost


def _call_baseline(rows: list[LedgerRow]) -> Decimal | None:
    """The one row of a call that carries its baseline (the served answer's)."""
    return next((row.baseline_cost_usd for row in rows if row.baseline_cost_usd is not None), None)


def _served(record: OutcomeRecord, rows: list[LedgerRow]) -> ServedCall:
    accepted = [row for row in rows if row.accepted]
    if not accepted:
        raise ConfigError(f"the ledger holds no accepted answer for record {record.id!r}")
    unknown = [row.model for row in rows if row.cost_usd is None]
    if unknown:
        raise ConfigError(f"the ledger priced {unknown} as unknown; record cost_usd")
    served = accepted[-1]
    baseline = _call_baseline(rows)
    return ServedCall(
        record=record,
        model=served.model,
        quality=record.outcomes[served.model].score,
        cost_usd=ledger_sum(row.cost_usd or Decimal(0) for row in rows),
        attempted=tuple(row.model for row in rows if not row.cache_hit),
        escalated=any(row.escalated for row in rows),
        cache_hit=any(row.cache_hit for row in rows),
        baseline_usd=None if baseline is None else ledger_sum([baseline]),
    )
