"""The public API is pinned: a removed or renamed name is a breaking change."""

from __future__ import annotations

import langchain_costrouter

EXPECTED_ALL = [
    "AllTiersFailedError",
    "Budget",
    "BudgetExceededError",
    "BudgetExhaustedError",
    "CircuitBreakers",
    "CompressionResult",
    "ConfigError",
    "CostCallbackHandler",
    "CostRouterError",
    "CostRouterLLMCache",
    "Deployment",
    "ItemBatcher",
    "ItemResult",
    "Ledger",
    "LedgerRow",
    "MissingAPIKeyError",
    "ModelPrice",
    "OutcomesFormatError",
    "PriceTable",
    "PromptCompressor",
    "ProviderError",
    "RateLimit",
    "ReplayChatModel",
    "ResponseCache",
    "RetryPolicy",
    "Route",
    "RoutedChatModel",
    "RouterClosedError",
    "Tier",
    "UnknownTaskError",
    "abatch_classify",
    "batch_classify",
    "open_cache",
    "open_ledger",
]


def test_all_is_pinned_and_sorted() -> None:
    assert langchain_costrouter.__all__ == EXPECTED_ALL
    assert sorted(EXPECTED_ALL) == EXPECTED_ALL


def test_every_exported_name_resolves() -> None:
    for name in EXPECTED_ALL:
        assert getattr(langchain_costrouter, name) is not None
