"""The request path of `RoutedChatModel`, one module per stage, in the order a call travels.

    _facade      RoutedChatModel: LangChain's entry points; settle, build the flow, drive it
    _closing     an async stream closed all the way down as its caller closes it
    _lifecycle   close(), aclose(), with: what the router opened, flushed and closed once
    _settings    its fields: what a router is configured with
    _signatures  _generate/_agenerate bound once, as langchain-core inspects them per call
    _tools       tools and structured output in each child's dialect
    _input       what a call may send, refused with the fix before any provider call
    _request     the call settled before any I/O: task label, route, kwargs (Request)
    _parts       what a router is built from, once: route table, stages, prices
    _flow        the flow of one call: cache -> compression -> cascade -> record -> cache
    _cache       the cache stage (or none): keys, reads, writes, coalescing flights
    _compress    the compression stage (or none): a task's PromptCompressor as steps
    _cascade     the cascade policy: tiers, checks, retries, failover, per-request budget
    _attempts    what each attempt leaves in the call's record; failures that end the call
    _budget      shared budgets and rate limits around each attempt
    _faults      provider errors as faults: retryable or not, how long to back off
    _breakers    circuit breakers per deployment
    _steps       the I/O steps the flow yields, and their results
    _io          how each step is performed, blocking or awaited, streamed or not
    _children    inline calls to the child chat models; the chunks the router emits
    _accounting  attempts priced from usage and the price table
    _savings     the call's baseline and its split into savings by lever
    _record      the record on the answer, and the ledger rows
    _shadow      sampled answers evaluated against the reference model, off the path
    _shadow_budget  the evaluation's own calls reserved and settled on the budgets

The flow decides and never does I/O; the drivers in `langchain_costrouter._sansio` run
it for invoke, ainvoke, stream, astream and batch alike. docs/architecture.md draws it.
"""

from langchain_costrouter.router._breakers import CircuitBreakers
from langchain_costrouter.router._cascade import RetryPolicy
from langchain_costrouter.router._facade import RoutedChatModel

__all__ = ["CircuitBreakers", "RetryPolicy", "RoutedChatModel"]
