"""One small error tree. Every message says what happened and what to do next.

Provider errors are translated at the edge (the cascade), so callers catch
`CostRouterError` subclasses instead of a different SDK's exceptions per provider.
This module is where the whole tree is imported from: its root lives in
`_error_root` and its budget branch in `_budget_errors`, so that branch derives
from the root without importing this module back.
"""

from __future__ import annotations

from collections.abc import Iterable

from langchain_costrouter._budget_errors import (
    BudgetExceededError,
    BudgetExhaustedError,
    BudgetLeaseExpiredWarning,
    BudgetSoftLimitWarning,
    BudgetStoreError,
)
from langchain_costrouter._error_root import CostRouterError


class ConfigError(CostRouterError, ValueError):
    """A configuration file or argument is invalid.

    The message names the file (when there is one), the key and what was expected.
    """

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None) -> None:
        where = ", ".join(
            part for part in (path and f"file {path}", key and f"key {key!r}") if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.reason = message
        self.path = path
        self.key = key

    @classmethod
    def not_utf8(cls, error: UnicodeDecodeError, *, path: str) -> ConfigError:
        """A text file with bytes that are not UTF-8, named with the first bad line."""
        line = bytes(error.object[: error.start]).count(b"\n") + 1
        return cls(f"line {line} is not UTF-8 text; save the file as UTF-8", path=path)

    def in_file(self, path: str) -> ConfigError:
        """The same error, naming the file it was found in (builders know only the key)."""
        return ConfigError(self.reason, path=path, key=self.key)


class InvalidRequestError(CostRouterError, ValueError):
    """A call's input cannot be sent to any provider; raised before any provider call.

    The message names the offending message (by index) and how to fix it.
    """


class StructuredOutputUnsupportedError(InvalidRequestError):
    """A child of a route cannot answer by JSON mode or JSON schema, the method asked.

    Raised when ``response_format`` is bound (``with_structured_output``, ``bind``) for
    every child of the route table, and for a call's own ``response_format`` when the
    child is reached: sending OpenAI's field to a model that does not read it would
    come back as free text or as the provider's refusal.
    """

    def __init__(self, task: str | None, model: str, method: str, reason: str) -> None:
        self.task = task
        self.model = model
        self.method = method
        where = f"Route {task!r}: child {model}" if task is not None else f"Child {model}"
        super().__init__(
            f"{where} cannot answer by {method} ({reason}). Use "
            "with_structured_output(..., method='function_calling'), which every child "
            f"that binds tools does in its own dialect, or route this task to children "
            f"that support {method}."
        )


class UnknownTaskError(CostRouterError, KeyError):
    """A task label has no route and no default route is configured."""

    def __init__(self, task: str, known: Iterable[str]) -> None:
        self.task = task
        self.known = sorted(known)
        super().__init__(
            f"No route for task {task!r}. Known task labels: {', '.join(self.known) or '(none)'}. "
            "Pass one of them (invoke(..., task=...), metadata={'task': ...}) or set default_task."
        )

    def __str__(self) -> str:
        # KeyError would otherwise wrap the message in quotes.
        return str(self.args[0])


class MissingAPIKeyError(CostRouterError):
    """The environment variable that holds a provider's API key is not set.

    From a config file, the message names the file and the key that names the variable
    (``providers.NAME.api_key_env``), as a `ConfigError` does: where to look when the
    key is exported under another name. ``when`` says by when it must be set.
    """

    def __init__(
        self,
        provider: str,
        env_var: str,
        *,
        path: str | None = None,
        key: str | None = None,
        when: str = "calling this model",
    ) -> None:
        self.provider = provider
        self.env_var = env_var
        self.path = path
        self.key = key
        where = ", ".join(
            part for part in (path and f"file {path}", key and f"key {key!r}") if part
        )
        super().__init__(
            f"Provider {provider!r} needs an API key in the environment variable {env_var}, "
            f"which is not set{f' ({where})' if where else ''}. "
            f"Export {env_var}=... before {when}."
        )


class ProviderError(CostRouterError):
    """A provider call failed. `retryable` tells whether trying again can help.

    ``attempts`` lists what the routed call had done when it ended (as
    `AllTiersFailedError`'s does), its compressor's paid call included; empty when no
    router raised it.
    """

    def __init__(
        self,
        message: str,
        *,
        model: str,
        provider: str,
        retryable: bool,
        kind: str,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.model = model
        self.provider = provider
        self.retryable = retryable
        self.kind = kind
        self.retry_after = retry_after
        self.attempts: list[dict[str, object]] = []


class AllTiersFailedError(CostRouterError):
    """Every tier of a route failed with a provider error; nothing could answer."""

    def __init__(self, task: str, attempts: list[dict[str, object]]) -> None:
        self.task = task
        self.attempts = attempts
        reasons = "; ".join(f"{a.get('model')}: {a.get('reason')}" for a in attempts)
        super().__init__(
            f"All tiers of route {task!r} failed ({reasons}). "
            "Check the providers' status and keys, or add a failover provider to the route."
        )


class RouterClosedError(CostRouterError, RuntimeError):
    """A call reached a router after its ``close()`` (or the end of its ``with`` block).

    Raised before any provider call, so nothing is spent that its closed ledger and
    budgets could not record. Reopening the stores behind the caller's back instead
    would leave them open again with nobody to close them.
    """

    def __init__(self) -> None:
        super().__init__(
            "This router was closed (close(), aclose() or the end of its with block), and "
            "its ledger, cache and budget store with it. Build a new RoutedChatModel (or "
            "RoutedChatModel.from_config(...)) for more calls, or close the router only once "
            "its last call has returned."
        )


class OutcomesFormatError(CostRouterError, ValueError):
    """A recorded-outcomes file has a bad line. Carries the file and the line number."""

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path = path
        self.line = line
        super().__init__(f"{path}:{line}: {message}")


class ReplayMismatchError(CostRouterError):
    """The batched replay of ``calibrate`` and the router disagree on a sampled record.

    Carries the record id, the field (``model``, ``cost_usd``, ``quality`` or
    ``attempted``) and both values. The figures would not be the product's own, so the
    run stops instead of printing them.
    """

    def __init__(self, record_id: str, field: str, router: object, batched: object) -> None:
        self.record_id = record_id
        self.field = field
        self.router = router
        self.batched = batched
        super().__init__(
            f"replay check failed on record {record_id!r}: the router gives {field} "
            f"{router!r}, the batched replay {batched!r}; the figures are not printed "
            "(please report this with the outcomes file)"
        )


class UnknownPriceWarning(UserWarning):
    """A model has no known price: its cost is recorded as unknown, never as $0."""


class BackendUnavailableWarning(UserWarning):
    """A cache or ledger backend failed; the call went on without it."""


class CompressionFailedWarning(UserWarning):
    """The compressor model failed: the prompt went out uncompressed (and will be tried
    again on the next call). Check the compressor's model, its credentials and its limits."""


__all__ = [
    "AllTiersFailedError",
    "BackendUnavailableWarning",
    "BudgetExceededError",
    "BudgetExhaustedError",
    "BudgetLeaseExpiredWarning",
    "BudgetSoftLimitWarning",
    "BudgetStoreError",
    "CompressionFailedWarning",
    "ConfigError",
    "CostRouterError",
    "InvalidRequestError",
    "MissingAPIKeyError",
    "OutcomesFormatError",
    "ProviderError",
    "ReplayMismatchError",
    "RouterClosedError",
    "StructuredOutputUnsupportedError",
    "UnknownPriceWarning",
    "UnknownTaskError",
]
