"""The error tree is imported from errors.py, and says so wherever its classes live.

Its root and its budget branch live in private modules (`_error_root`,
`_budget_errors`), but a traceback, a repr or a pickle names the class by its
``__module__``: users must see ``langchain_costrouter.errors.BudgetExhaustedError``,
the name they import and filter warnings by, never a private module's.

Every class also survives a pickle round trip whole: errors raised in worker processes
(``ProcessPoolExecutor``, ``multiprocessing``, ray, celery) are pickled back to the
parent, where a class whose ``__init__`` cannot be called with its ``args`` used to
raise ``TypeError`` instead, hiding the real error.
"""

from __future__ import annotations

import multiprocessing
import pickle
import warnings
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from langchain_costrouter import errors


def test_every_public_error_and_warning_names_errors_py_as_its_module() -> None:
    classes = [getattr(errors, name) for name in errors.__all__]
    assert len(classes) >= 19
    assert {cls.__module__ for cls in classes} == {"langchain_costrouter.errors"}
    assert all(issubclass(c, errors.CostRouterError | UserWarning) for c in classes)


def test_errors_pickle_under_errors_py() -> None:
    again = pickle.loads(pickle.dumps(errors.CostRouterError("boom")))
    assert type(again) is errors.CostRouterError and str(again) == "boom"
    pickled = pickle.dumps(errors.BudgetStoreError("redis://cache", ConnectionError("refused")))
    assert b"langchain_costrouter.errors" in pickled
    assert b"_budget_errors" not in pickled


def _provider_error() -> errors.ProviderError:
    error = errors.ProviderError(
        "openai returned 429: slow down",
        model="gpt-4o-mini",
        provider="openai",
        retryable=True,
        kind="rate_limit",
        retry_after=2.5,
    )
    error.attempts.append({"model": "gpt-4o-mini", "reason": "rate_limit"})  # as the router does
    return error


_EXAMPLES: dict[str, BaseException] = {
    "AllTiersFailedError": errors.AllTiersFailedError(
        "chat", [{"model": "gpt-4o-mini", "reason": "timeout"}]
    ),
    "BackendUnavailableWarning": errors.BackendUnavailableWarning("the ledger failed"),
    "BudgetExceededError": errors.BudgetExceededError("chat", 0.01, [{"model": "gpt-4o"}]),
    "BudgetExhaustedError": errors.BudgetExhaustedError(
        budget_name="daily",
        scope="tenant=acme",
        task="chat",
        spent_usd=Decimal("9.5"),
        reserved_usd=Decimal("0.4"),
        limit_usd=Decimal("10"),
        needed_usd=Decimal("0.2"),
        reset_at=datetime(2030, 1, 2, tzinfo=UTC),
        downgrade=True,
    ),
    "BudgetLeaseExpiredWarning": errors.BudgetLeaseExpiredWarning("lease of call 7 ran out"),
    "BudgetSoftLimitWarning": errors.BudgetSoftLimitWarning("daily crossed 80%"),
    "BudgetStoreError": errors.BudgetStoreError(
        "redis://127.0.0.1:6379/0", ConnectionError("refused")
    ),
    "CompressionFailedWarning": errors.CompressionFailedWarning("compressor timed out"),
    "ConfigError": errors.ConfigError("expected a number", path="costrouter.toml", key="ttl"),
    "CostRouterError": errors.CostRouterError("boom"),
    "InvalidRequestError": errors.InvalidRequestError("message 2 has no content"),
    "MissingAPIKeyError": errors.MissingAPIKeyError(
        "openai", "OPENAI_API_KEY", path="costrouter.toml", key="providers.openai.api_key_env"
    ),
    "OutcomesFormatError": errors.OutcomesFormatError("outcomes.jsonl", 12, "not JSON"),
    "ProviderError": _provider_error(),
    "ReplayMismatchError": errors.ReplayMismatchError("rec-3", "cost_usd", 0.002, 0.003),
    "RouterClosedError": errors.RouterClosedError(),
    "StructuredOutputUnsupportedError": errors.StructuredOutputUnsupportedError(
        "extract", "claude-3-haiku", "json_schema", "no JSON mode"
    ),
    "UnknownPriceWarning": errors.UnknownPriceWarning("no price for my-model"),
    "UnknownTaskError": errors.UnknownTaskError("sumarize", ["chat", "summarize"]),
}


def _public_attributes(error: BaseException) -> dict[str, object]:
    return {name: value for name, value in vars(error).items() if not name.startswith("_")}


def test_every_public_class_has_an_example() -> None:
    assert sorted(_EXAMPLES) == sorted(errors.__all__)


@pytest.mark.parametrize("name", sorted(errors.__all__))
def test_every_public_class_survives_a_pickle_round_trip(name: str) -> None:
    error = _EXAMPLES[name]
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) is getattr(errors, name)
    assert str(again) == str(error)
    assert repr(again) == repr(error)
    assert again.args == error.args
    assert _public_attributes(again) == _public_attributes(error)


def _raise_budget_store_error() -> None:
    raise errors.BudgetStoreError("redis://127.0.0.1:6379/0", ConnectionError("refused"))


def test_a_worker_process_s_budget_store_error_reaches_the_parent_as_itself() -> None:
    # spawn: a fresh interpreter, as ray and celery workers are, and no fork of pytest's threads
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        future = pool.submit(_raise_budget_store_error)
        with pytest.raises(errors.BudgetStoreError) as raised:
            future.result(timeout=60)
    assert raised.value.store == "redis://127.0.0.1:6379/0"
    assert "ConnectionError: refused" in str(raised.value)


def test_the_budget_branch_keeps_its_subclassing() -> None:
    exhausted = errors.BudgetExhaustedError(
        budget_name="daily",
        scope="global",
        task="chat",
        spent_usd=Decimal("1"),
        reserved_usd=Decimal("0"),
        limit_usd=Decimal("1"),
        needed_usd=Decimal("0.01"),
        reset_at=None,
        downgrade=False,
    )
    assert isinstance(exhausted, errors.BudgetExceededError)
    assert isinstance(exhausted, errors.CostRouterError)


def test_a_warning_filter_by_the_public_name_catches_a_budget_warning() -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("error", category=errors.BudgetSoftLimitWarning)
        with pytest.raises(errors.BudgetSoftLimitWarning):
            warnings.warn("soft limit", errors.BudgetSoftLimitWarning, stacklevel=1)


def test_a_budget_store_error_masks_a_password_its_driver_quoted() -> None:
    # Its store is shown with the password hidden already, but the driver's own message
    # went into the text as it was: a driver that quotes the URL it failed on put the
    # password in every refused call's error and log line.
    failure = ConnectionError("cannot reach redis://app:hunter2@cache.internal:6379/0")
    error = errors.BudgetStoreError("redis://app:***@cache.internal:6379/0", failure)
    assert "hunter2" not in str(error)
    assert "ConnectionError: cannot reach redis://app:***@cache.internal:6379/0" in str(error)
