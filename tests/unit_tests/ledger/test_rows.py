from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from langchain_costrouter.ledger import LedgerRow, rows_from_costrouter
from langchain_costrouter.metadata import CostRouterMetadata

WHEN = datetime(2026, 5, 4, 10, 30, tzinfo=UTC)


def escalated_record() -> CostRouterMetadata:
    return {
        "task": "classification",
        "namespace": "acme",
        "cache_hit": False,
        "escalated": True,
        "compression_tokens_saved": 120,
        "batch_size": 4,
        "attempts": [
            {
                "model": "gpt-4o-mini",
                "provider": "openai",
                "tier": 0,
                "usage": {
                    "input_tokens": 900,
                    "output_tokens": 12,
                    "input_token_details": {"cache_read": 256},
                },
                "cost_usd": 0.0001335,
                "baseline_cost_usd": 0.00237,
                "price_source": "price_map",
                "accepted": False,
                "reason": "label not in set",
                "latency_ms": 41.5,
            },
            {
                "model": "gpt-5",
                "provider": "openai",
                "tier": 1,
                "usage": {
                    "input_tokens": 900,
                    "output_tokens": 40,
                    "output_token_details": {"reasoning": 30},
                },
                "cost_usd": 0.001525,
                "baseline_cost_usd": 0.001525,
                "price_source": "price_map",
                "accepted": True,
                "reason": "check passed",
            },
        ],
    }


def test_one_row_per_attempt_with_the_call_labels() -> None:
    first, second = rows_from_costrouter(escalated_record(), run_id="run-1", when=WHEN)
    assert (first.attempt, second.attempt) == (0, 1)
    assert {first.task, second.task} == {"classification"}
    assert {first.namespace, second.namespace} == {"acme"}
    assert (first.escalated, second.escalated) == (True, True)
    assert (first.accepted, second.accepted) == (False, True)
    assert first.cost_usd == Decimal("0.0001335")
    assert first.cache_read_tokens == 256
    assert second.reasoning_tokens == 30
    assert first.reason == "label not in set"
    assert first.batch_size == second.batch_size == 4


def test_compression_saving_is_counted_once_per_call() -> None:
    rows = rows_from_costrouter(escalated_record(), run_id="run-1", when=WHEN)
    assert [row.compression_tokens_saved for row in rows] == [120, 0]


def test_the_calls_baseline_and_savings_go_on_the_served_row_only() -> None:
    record = escalated_record()
    record["baseline_cost_usd"] = 0.003
    record["savings_usd"] = {"routing": 0.0025, "cascade": -0.001, "cache": 0.0}
    first, served = rows_from_costrouter(record, run_id="run-1", when=WHEN)
    assert (first.baseline_cost_usd, first.saved_routing_usd) == (None, None)
    assert served.baseline_cost_usd == Decimal("0.003")
    assert (served.saved_routing_usd, served.saved_cascade_usd) == (
        Decimal("0.0025"),
        Decimal("-0.001"),
    )
    assert served.saved_cache_usd == Decimal(0)
    assert served.saved_batching_usd is None
    assert (first.compression_tokens_saved, served.compression_tokens_saved) == (120, 0)


def test_cache_hit_is_zero_cost_with_the_avoided_cost_as_baseline() -> None:
    record: CostRouterMetadata = {
        "task": "chat",
        "cache_hit": True,
        "served_by": "gpt-5",
        "baseline_cost_usd": 0.0125,
        "attempts": [],
    }
    (row,) = rows_from_costrouter(record, run_id="run-2", when=WHEN)
    assert row.cache_hit
    assert row.cost_usd == Decimal(0)
    assert row.baseline_cost_usd == Decimal("0.0125")
    assert row.model == "gpt-5"


def test_naive_time_is_taken_as_utc() -> None:
    (row,) = rows_from_costrouter(
        {"attempts": [{"model": "m"}]}, run_id="x", when=datetime(2026, 1, 1, 8, 0)
    )
    assert row.time == datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
    assert row.cost_usd is None


def test_every_field_of_a_row_comes_from_its_own_source() -> None:
    """Rows are built as lists in field order: a value one place off would land in the
    wrong column. Every source value here is distinct, so any shift shows."""
    record: CostRouterMetadata = {
        "task": "t-task",
        "namespace": "t-namespace",
        "escalated": True,
        "purpose": "eval",
        "batch_size": 7,
        "baseline_cost_usd": 0.5,
        "compression_tokens_saved": 11,
        "compression_saved_usd": 0.25,
        "savings_usd": {
            "routing": 0.01,
            "cascade": 0.02,
            "cache": 0.03,
            "compression": 0.04,
            "batching": 0.05,
        },
        "attempts": [
            {
                "model": "t-model",
                "provider": "t-provider",
                "tier": 3,
                "role": "answer",
                "usage": {
                    "input_tokens": 101,
                    "output_tokens": 102,
                    "input_token_details": {"cache_read": 13, "cache_creation": 14},
                    "output_token_details": {"reasoning": 15},
                },
                "cost_usd": 0.125,
                "price_source": "provider",
                "accepted": True,
                "reason": "t-reason",
                "error": "t-error",
                "latency_ms": 9.5,
                "usage_estimated": True,
                "output_cap_exceeded": True,
                "status_code": 418,
            }
        ],
    }
    (row,) = rows_from_costrouter(record, run_id="t-run", when=WHEN, reference_model="t-ref")
    assert row == LedgerRow(
        time=WHEN,
        run_id="t-run",
        model="t-model",
        attempt=0,
        task="t-task",
        namespace="t-namespace",
        provider="t-provider",
        tier=3,
        role="answer",
        input_tokens=101,
        cache_read_tokens=13,
        cache_write_tokens=14,
        output_tokens=102,
        reasoning_tokens=15,
        cost_usd=Decimal("0.125"),
        price_source="provider",
        baseline_cost_usd=Decimal("0.5"),
        reference_model="t-ref",
        cache_hit=False,
        accepted=True,
        escalated=True,
        reason="t-reason",
        error="t-error",
        latency_ms=9.5,
        compression_tokens_saved=11,
        compression_saved_usd=Decimal("0.25"),
        batch_size=7,
        usage_estimated=True,
        output_cap_exceeded=True,
        purpose="eval",
        status_code=418,
        saved_routing_usd=Decimal("0.01"),
        saved_cascade_usd=Decimal("0.02"),
        saved_cache_usd=Decimal("0.03"),
        saved_compression_usd=Decimal("0.04"),
        saved_batching_usd=Decimal("0.05"),
    )
