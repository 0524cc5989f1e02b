"""langchain-costrouter: cut a LangChain app's LLM bill and prove it with a ledger.

The request path of `RoutedChatModel`::

    invoke / stream (messages, task=...)
      -> resolve task label     kwarg > run metadata > config > default_task
      -> cache lookup           a hit replays (also as a stream), $0 in the ledger
      -> compression            optional, per task; protected spans stay byte-identical
      -> route plan             task -> tiers of models, budget, quality checks
      -> cascade                cheapest tier first; escalate on a failed check or error
      -> provider call          inline delegation to the child chat model
      -> ledger                 one row per attempt, dollars from usage x price
      -> cache update           accepted, complete answers only

Around it: `CostCallbackHandler` audits any chain, `PromptCompressor` and
`ItemBatcher` are LCEL runnables, `ReplayChatModel` and `calibration` learn the
cheapest cascade that keeps quality from recorded outcomes.
"""

from typing import TYPE_CHECKING

from langchain_costrouter._lazy import lazy_exports

# Names load on first use (PEP 562): `import langchain_costrouter` stays cheap, and the CLI
# or an app that needs one class does not import langchain-openai, SQLAlchemy and numpy.
if TYPE_CHECKING:
    from langchain_costrouter.batching import (
        ItemBatcher,
        ItemResult,
        abatch_classify,
        batch_classify,
    )
    from langchain_costrouter.budgets import Budget, RateLimit
    from langchain_costrouter.cache import CostRouterLLMCache, ResponseCache, open_cache
    from langchain_costrouter.callbacks import CostCallbackHandler
    from langchain_costrouter.compression import CompressionResult, PromptCompressor
    from langchain_costrouter.errors import (
        AllTiersFailedError,
        BudgetExceededError,
        BudgetExhaustedError,
        ConfigError,
        CostRouterError,
        MissingAPIKeyError,
        OutcomesFormatError,
        ProviderError,
        RouterClosedError,
        UnknownTaskError,
    )
    from langchain_costrouter.ledger import Ledger, LedgerRow, open_ledger
    from langchain_costrouter.pricing import ModelPrice, PriceTable
    from langchain_costrouter.replay import ReplayChatModel
    from langchain_costrouter.router import CircuitBreakers, RetryPolicy, RoutedChatModel
    from langchain_costrouter.routes import Deployment, Route, Tier
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "langchain_costrouter.batching": (
                "ItemBatcher",
                "ItemResult",
                "abatch_classify",
                "batch_classify",
            ),
            "langchain_costrouter.budgets": ("Budget", "RateLimit"),
            "langchain_costrouter.cache": ("CostRouterLLMCache", "ResponseCache", "open_cache"),
            "langchain_costrouter.callbacks": ("CostCallbackHandler",),
            "langchain_costrouter.compression": ("CompressionResult", "PromptCompressor"),
            "langchain_costrouter.errors": (
                "AllTiersFailedError",
                "BudgetExceededError",
                "BudgetExhaustedError",
                "ConfigError",
                "CostRouterError",
                "MissingAPIKeyError",
                "OutcomesFormatError",
                "ProviderError",
                "RouterClosedError",
                "UnknownTaskError",
            ),
            "langchain_costrouter.ledger": ("Ledger", "LedgerRow", "open_ledger"),
            "langchain_costrouter.pricing": ("ModelPrice", "PriceTable"),
            "langchain_costrouter.replay": ("ReplayChatModel",),
            "langchain_costrouter.router": ("CircuitBreakers", "RetryPolicy", "RoutedChatModel"),
            "langchain_costrouter.routes": ("Deployment", "Route", "Tier"),
        },
    )

__all__ = [
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
