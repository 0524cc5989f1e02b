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
"""

from langchain_costrouter.chat_model import RoutedChatModel
from langchain_costrouter.errors import (
    AllTiersFailedError,
    BudgetExceededError,
    ConfigError,
    CostRouterError,
    MissingAPIKeyError,
    ProviderError,
    UnknownTaskError,
)
from langchain_costrouter.routing import Deployment, Route, Tier

__all__ = [
    "AllTiersFailedError",
    "BudgetExceededError",
    "ConfigError",
    "CostRouterError",
    "Deployment",
    "MissingAPIKeyError",
    "ProviderError",
    "Route",
    "RoutedChatModel",
    "Tier",
    "UnknownTaskError",
]
