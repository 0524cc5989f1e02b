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

from langchain_costrouter.batching import ItemBatcher, ItemResult, abatch_classify, batch_classify
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
    UnknownTaskError,
)
from langchain_costrouter.ledger import Ledger, LedgerRow, open_ledger
from langchain_costrouter.pricing import ModelPrice, PriceTable
from langchain_costrouter.replay import ReplayChatModel
from langchain_costrouter.router import CircuitBreakers, RetryPolicy, RoutedChatModel
from langchain_costrouter.routes import Deployment, Route, Tier

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
    "Tier",
    "UnknownTaskError",
    "abatch_classify",
    "batch_classify",
    "open_cache",
    "open_ledger",
]
