"""Adapters between the pipeline and the optional stages: cache, compression, ledger.

(What a call writes to the ledger is built in `records`; this opens the ledger.)

Each function is a no-op when its stage is not configured, so the pipeline reads as
the request path without ``if cache is not None`` at every step.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage

from langchain_costrouter.accounting import Accountant
from langchain_costrouter.cache import CacheRequest, as_response_cache
from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.ledger import open_ledger
from langchain_costrouter.pricing import PriceTable
from langchain_costrouter.routes import Deployment, known_models

if TYPE_CHECKING:
    from langchain_costrouter.chat_model import RoutedChatModel
    from langchain_costrouter.pipeline import Pipeline
    from langchain_costrouter.request import Request


def accountant_for(router: RoutedChatModel) -> Accountant:
    """The router's price table, and its reference model (default: the priciest routed)."""
    prices = router.prices if isinstance(router.prices, PriceTable) else PriceTable()
    reference = router.reference_model
    if reference is None:
        models = [d.priced_as for d in known_models(router.route_table.values())]
        reference = prices.most_expensive(models)
    return Accountant(prices=prices, reference_model=reference)


# -- cache


def open_router_cache(spec: Any) -> Any:
    """The router-owned cache for a URL, a ResponseCache or a LangChain BaseCache."""
    if spec is None:
        return None
    return as_response_cache(spec)


def cache_request(cache: Any, request: Request, namespace: str) -> Any:
    """The request's cache identity, or None when this call cannot be cached.

    A call argument with no stable JSON form (an arbitrary object) cannot be keyed
    safely: that call skips the cache, with a warning, rather than risk a wrong hit.
    """
    if cache is None or not request.route.cache:
        return None
    cache_request = CacheRequest(
        messages=request.messages,
        task=request.task,
        namespace=namespace,
        params={**request.kwargs, "stop": request.stop},
        policy_version=request.route.version,
    )
    try:
        cache.key(cache_request)
    except TypeError as error:
        warnings.warn(f"This call is not cached: {error}", BackendUnavailableWarning, stacklevel=2)
        return None
    return cache_request


def lookup(cache: Any, cache_request: Any) -> AIMessage | None:
    if cache is None or cache_request is None:
        return None
    return cache.lookup(cache_request)  # type: ignore[no-any-return]


async def alookup(cache: Any, cache_request: Any) -> AIMessage | None:
    if cache is None or cache_request is None:
        return None
    return await cache.alookup(cache_request)  # type: ignore[no-any-return]


def store(cache: Any, request: Request, message: AIMessage) -> None:
    """Store accepted, complete answers only: a best-effort answer is not reused."""
    if cache is None or request.cache_request is None or not _accepted(message):
        return
    cache.store(request.cache_request, message)


async def astore(cache: Any, request: Request, message: AIMessage) -> None:
    if cache is None or request.cache_request is None or not _accepted(message):
        return
    await cache.astore(request.cache_request, message)


def _accepted(message: AIMessage) -> bool:
    return bool(message.response_metadata.get("costrouter", {}).get("accepted"))


# -- compression


def compress(pipeline: Pipeline, request: Request) -> None:
    compressor = _compressor(pipeline, request)
    if compressor is not None:
        _apply(pipeline, request, compressor.compress_messages(request.messages, **_spans(request)))


async def acompress(pipeline: Pipeline, request: Request) -> None:
    compressor = _compressor(pipeline, request)
    if compressor is not None:
        result = await compressor.acompress_messages(request.messages, **_spans(request))
        _apply(pipeline, request, result)


def _compressor(pipeline: Pipeline, request: Request) -> Any:
    if not request.compress:
        return None
    compressors = pipeline.router.compressors
    return compressors.get(request.task) or compressors.get("*")


def _spans(request: Request) -> dict[str, Any]:
    return {
        "tools": request.kwargs.get("tools"),
        "response_format": request.kwargs.get("response_format"),
    }


def _apply(pipeline: Pipeline, request: Request, result: Any) -> None:
    """Use the compressed prompt and account for the compressor's own calls."""
    request.messages = list(result.messages)
    request._prompt_tokens = None
    request.extra["compression_tokens_saved"] = max(0, result.tokens_before - result.tokens_after)
    for answer in result.compressor_messages:
        attempt = pipeline.accountant.side_call(answer, request.messages, "compressor")
        attempt.update(
            {"tier": -1, "accepted": False, "reason": "compression", "role": "compressor"}
        )
        request.side_attempts.append(attempt)


def price_compression_saving(pipeline: Pipeline, request: Request, served: Deployment) -> None:
    """Record what the prompt tokens compression removed would have cost the serving model.

    Priced once the cascade has chosen that model, so the figure can be set against the
    compressor's own cost (its "compressor" attempts) for the net saving per task.
    """
    saved = request.extra.get("compression_tokens_saved")
    if saved:
        request.extra["compression_saved_usd"] = pipeline.accountant.input_cost(served, saved)


# -- ledger


def open_router_ledger(spec: Any) -> Any:
    """None/False: no ledger; True: the embedded SQLite file; a URL or a `Ledger`."""
    if spec is None or spec is False:
        return None
    if spec is True:
        return open_ledger(None)  # the default SQLite file in the user data dir
    if isinstance(spec, str):
        return open_ledger(spec)
    return spec
