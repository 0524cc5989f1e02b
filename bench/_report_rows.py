"""Synthetic ledger rows for bench/ledger_report.py: routed calls of every shape a report sums.

Deterministic from the call number: priced answers, escalations (two rows, the levers on
the answer's), cache hits, failed attempts, calls of an unknown price, rows from before
the lever split, compressed calls (a compressor row), judges, eval and shadow calls,
over ``DAYS`` days, eight tasks (and calls without one), three namespaces.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from langchain_costrouter.ledger import LedgerRow

END = datetime(2026, 12, 1, tzinfo=UTC)
"""The newest call's time: a fixed end, so every run writes the same rows."""
DAYS = 90
TASKS = ("classify", "extract", "summarise", "chat", "translate", "code", "qa", "rank", None)
NAMESPACES = ("acme", "globex", "initech")
MODELS = ("gpt-4o-mini", "gpt-4o", "claude-haiku", "claude-sonnet", "llama-local")
_PICO = Decimal("1e-12")


def ledger_rows(count: int) -> Iterator[LedgerRow]:
    """About ``count`` rows (whole calls), oldest first."""
    written = call = 0
    calls = max(1, count * 100 // 117)  # 1.17 rows a call on average
    while written < count:
        rows = _call_rows(call, calls)
        written += len(rows)
        call += 1
        yield from rows


def _money(picos: int) -> Decimal:
    return Decimal(picos) * _PICO


def _call_rows(n: int, calls: int) -> list[LedgerRow]:
    mix = n * 2654435761 % 100
    when = END - timedelta(seconds=DAYS * 86_400 * (calls - n) // calls)
    common = {
        "time": when,
        "run_id": f"run-{n}",
        "task": TASKS[n % len(TASKS)],
        "namespace": NAMESPACES[n % 7 % len(NAMESPACES)],
        "purpose": "eval" if n % 23 == 0 else "shadow" if n % 29 == 0 else "production",
        "input_tokens": 200 + n % 1800,
        "output_tokens": 20 + n % 300,
        "cache_read_tokens": (n % 5) * 128,
        "reasoning_tokens": n % 11,
        "latency_ms": float(100 + n % 900),
    }
    cost, baseline = 150_000 + (n * 7919) % 4_000_000, 9_000_000 + (n * 104_729) % 40_000_000
    model = MODELS[n % len(MODELS)]
    if mix < 62:
        return [_answer(common, model, cost, baseline)]
    if mix < 72:
        return _escalation(common, cost, baseline)
    if mix < 80:
        return [_hit(common, baseline)]
    if mix < 83:
        return [_failed(common, model, n)]
    if mix < 86:  # a model with no price: cost and saving unknown
        return [LedgerRow(**common, model="llama-local", price_source="unknown")]
    if mix < 89:  # written before migration 5: a baseline per row, no levers
        return [_legacy(common, model, cost, baseline)]
    if mix < 95:
        return _compressed(common, model, cost, baseline)
    return [_answer(common, model, cost, baseline), _judge(common, cost)]


def _levers(baseline: int, cost: int, **others: int) -> dict[str, Decimal]:
    routing = baseline - cost - sum(others.values())
    levers = {"routing": routing, "cascade": 0, "cache": 0, "compression": 0, "batching": 0}
    return {f"saved_{k}_usd": _money(v) for k, v in {**levers, **others}.items()}


def _answer(common: dict, model: str, cost: int, baseline: int) -> LedgerRow:
    return LedgerRow(
        **common,
        model=model,
        provider="openai",
        tier=0,
        cost_usd=_money(cost),
        price_source="price_map",
        baseline_cost_usd=_money(baseline),
        reference_model="gpt-4o",
        **_levers(baseline, cost),
    )


def _escalation(common: dict, cost: int, baseline: int) -> list[LedgerRow]:
    first = {**common, "output_tokens": 0, "reasoning_tokens": 0}
    second = {**common, "attempt": 1, "escalated": True}
    cheap, dear = cost // 4, cost * 3
    levers = _levers(baseline, cheap + dear, cascade=baseline // 10)
    return [
        LedgerRow(
            **first,
            model="gpt-4o-mini",
            tier=0,
            cost_usd=_money(cheap),
            price_source="price_map",
            accepted=False,
            escalated=True,
            reason="check failed",
        ),
        LedgerRow(
            **second,
            model="gpt-4o",
            tier=1,
            cost_usd=_money(dear),
            price_source="price_map",
            baseline_cost_usd=_money(baseline),
            reference_model="gpt-4o",
            **levers,
        ),
    ]


def _hit(common: dict, baseline: int) -> LedgerRow:
    return LedgerRow(
        **common,
        model="gpt-4o-mini",
        cache_hit=True,
        cost_usd=Decimal(0),
        price_source="price_map",
        baseline_cost_usd=_money(baseline),
        **_levers(baseline, 0, cache=baseline),
    )


def _failed(common: dict, model: str, n: int) -> LedgerRow:
    failed = {**common, "input_tokens": 0, "output_tokens": 0, "reasoning_tokens": 0}
    return LedgerRow(
        **failed,
        model=model,
        cost_usd=None if n % 2 else Decimal(0),
        accepted=False,
        error="APIStatusError",
        status_code=500,
        baseline_cost_usd=Decimal(0),
        **_levers(0, 0),
    )


def _legacy(common: dict, model: str, cost: int, baseline: int) -> LedgerRow:
    return LedgerRow(
        **common,
        model=model,
        cost_usd=_money(cost),
        price_source="price_map",
        baseline_cost_usd=_money(baseline),
    )


def _compressed(common: dict, model: str, cost: int, baseline: int) -> list[LedgerRow]:
    squeeze = cost // 3
    compressor = {**common, "attempt": 1, "role": "compressor", "output_tokens": 90}
    return [
        LedgerRow(
            **common,
            model=model,
            cost_usd=_money(cost),
            price_source="price_map",
            baseline_cost_usd=_money(baseline),
            compression_tokens_saved=400,
            compression_saved_usd=_money(squeeze),
            usage_estimated=common["input_tokens"] % 2 == 0,
            **_levers(baseline, cost + cost // 10, compression=squeeze - cost // 10),
        ),
        LedgerRow(
            **compressor,
            model="gpt-4o-mini",
            cost_usd=_money(cost // 10),
            price_source="price_map",
        ),
    ]


def _judge(common: dict, cost: int) -> LedgerRow:
    judge = {**common, "attempt": 1, "role": "judge", "output_tokens": 5}
    return LedgerRow(**judge, model="gpt-4o", cost_usd=_money(cost // 2), price_source="provider")
