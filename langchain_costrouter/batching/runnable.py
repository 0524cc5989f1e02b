"""`ItemBatcher`: many small items through one instruction, in few calls, none lost.

The Runnable packs items into prompts (see `packing`), asks for JSON keyed by id (see
`prompt`), validates every answer per item (see `parse`) and re-sends failures in
halving batches (see `plan`). It works with any chat model; with `RoutedChatModel`
each batch call goes through routing, cascade, cache and ledger like any other call,
carrying run metadata ``{"task": task, "batch_size": n}`` so the ledger records the
batch size of every row and the router picks the route for ``task``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForChainRun,
    BaseCallbackManager,
    CallbackManagerForChainRun,
)
from langchain_core.messages import BaseMessage
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import get_executor_for_config, patch_config
from tqdm import tqdm

from langchain_costrouter.batching.binding import ChatRunnable, call_tokens, with_json_mode
from langchain_costrouter.batching.cache import MISS, ItemCache, RunCache
from langchain_costrouter.batching.drivers import progress_bar, run_async, run_sync
from langchain_costrouter.batching.items import Item, to_batch_items
from langchain_costrouter.batching.plan import Batch, BatchPlan, provider_failed
from langchain_costrouter.batching.prompt import (
    build_messages,
    check_encodable,
    per_item_prompt_tokens,
)
from langchain_costrouter.batching.results import CallOutcome, ItemResult, PriceFn
from langchain_costrouter.batching.schema import SchemaSpec, as_schema
from langchain_costrouter.metadata import ITEM_PROMPT_TOKENS_KEY
from langchain_costrouter.tokens import count_text


class ItemBatcher(Runnable[Sequence[Item], list[ItemResult]]):
    """Map a list of items to one validated result per item, in input order.

    Args:
        model: any chat model (``RoutedChatModel``, ``ChatOpenAI``, ...).
        instruction: what to do with each item, written once per batch prompt.
        schema: a list of labels, a pydantic model class, an `ItemSchema`, or None
            for free text.
        max_items: most items in one call.
        max_tokens: token budget of the items in one call (cl100k_base count).
        max_concurrency: most calls in flight; a ``max_concurrency`` in the run
            config wins.
        task: task label for the router, sent as run metadata ``{"task": ...}``.
        json_mode: bind ``response_format={"type": "json_object"}``; None means
            only for OpenAI-client models.
        cache: per-item `ItemCache`; cached items are not sent again.
        price: ``price(model_name, usage) -> dollars`` for calls without a router
            cost record.
        progress: show a progress bar; None means for lists longer than one batch
            when stderr is a terminal.
    """

    def __init__(
        self,
        model: ChatRunnable,
        instruction: str,
        schema: SchemaSpec = None,
        *,
        max_items: int = 40,
        max_tokens: int = 3000,
        max_concurrency: int = 4,
        task: str | None = None,
        json_mode: bool | None = None,
        cache: ItemCache | None = None,
        price: PriceFn | None = None,
        progress: bool | None = None,
    ) -> None:
        if max_items < 1 or max_tokens < 1 or max_concurrency < 1:
            raise ValueError("max_items, max_tokens and max_concurrency must be >= 1")
        self.model = model
        self.instruction = instruction
        self.schema = as_schema(schema)
        check_encodable(instruction, self.schema)
        self.max_items = max_items
        self.max_tokens = max_tokens
        self.max_concurrency = max_concurrency
        self.task = task
        self.cache = cache
        self.price = price
        self.progress = progress
        self._model = with_json_mode(model, json_mode)
        self._call_tokens = call_tokens(self._model)

    def invoke(
        self, input: Sequence[Item], config: RunnableConfig | None = None, **kwargs: Any
    ) -> list[ItemResult]:
        """Answer every item; see the class docstring."""
        _refuse_call_keywords(kwargs)
        return self._call_with_config(self._run, input, config)

    async def ainvoke(
        self, input: Sequence[Item], config: RunnableConfig | None = None, **kwargs: Any
    ) -> list[ItemResult]:
        """Async twin of `invoke`."""
        _refuse_call_keywords(kwargs)
        return await self._acall_with_config(self._arun, input, config)

    def _run(
        self, items: Sequence[Item], run_manager: CallbackManagerForChainRun, config: RunnableConfig
    ) -> list[ItemResult]:
        plan, batches, bar = self._prepare(items)
        call = partial(self._call, callbacks=run_manager.get_child(), config=config)
        concurrency = self._concurrency(config)
        pool_config = patch_config(config, max_concurrency=concurrency)
        with bar, get_executor_for_config(pool_config) as executor:
            run_sync(plan, batches, call, executor, concurrency)
        return plan.results()

    async def _arun(
        self,
        items: Sequence[Item],
        run_manager: AsyncCallbackManagerForChainRun,
        config: RunnableConfig,
    ) -> list[ItemResult]:
        plan, batches, bar = self._prepare(items)
        acall = partial(self._acall, callbacks=run_manager.get_child(), config=config)
        with bar:
            await run_async(plan, batches, acall, self._concurrency(config))
        return plan.results()

    def _prepare(self, items: Sequence[Item]) -> tuple[BatchPlan, list[Batch], tqdm[Any]]:
        """Look items up in the cache and pack the rest into the first batches."""
        items = _item_list(items)
        batch_items = to_batch_items(items, count_text)
        cache = RunCache(self.cache, self.instruction, self.schema)
        bar = progress_bar(len(items), self.progress, min_total=self.max_items + 1)
        plan = BatchPlan(
            items,
            self.schema,
            max_tokens=self.max_tokens,
            max_items=self.max_items,
            price=self.price,
            on_accept=lambda item, value: cache.remember(item.payload, value),
            on_settled=bar.update,
        )
        to_send = []
        for item in batch_items:
            value = cache.recall(item.payload)
            if value is MISS:
                to_send.append(item)
            else:
                plan.add_cached(item, value)
        return plan, plan.start(to_send), bar

    def _call(
        self, batch: Batch, *, callbacks: BaseCallbackManager, config: RunnableConfig
    ) -> CallOutcome:
        messages = build_messages(self.instruction, self.schema, batch.items)
        try:
            message = self._model.invoke(messages, self._child_config(batch, callbacks, config))
        except Exception as error:
            if not provider_failed(error):
                raise
            return CallOutcome(error=error)
        return CallOutcome(message=message)

    async def _acall(
        self, batch: Batch, *, callbacks: BaseCallbackManager, config: RunnableConfig
    ) -> CallOutcome:
        messages = build_messages(self.instruction, self.schema, batch.items)
        try:
            message = await self._model.ainvoke(
                messages, self._child_config(batch, callbacks, config)
            )
        except Exception as error:
            if not provider_failed(error):
                raise
            return CallOutcome(error=error)
        return CallOutcome(message=message)

    def _child_config(
        self, batch: Batch, callbacks: BaseCallbackManager, config: RunnableConfig
    ) -> RunnableConfig:
        """Nest the call under this run and tell the router the task and batch size."""
        child = patch_config(config, callbacks=callbacks)
        metadata: dict[str, Any] = {
            **child.get("metadata", {}),
            "batch_size": len(batch.items),
            ITEM_PROMPT_TOKENS_KEY: 0
            if batch.counted
            else per_item_prompt_tokens(
                self.instruction, self.schema, batch.items, self._call_tokens
            ),
        }
        if self.task is not None:
            metadata["task"] = self.task
        child["metadata"] = metadata
        return child

    def _concurrency(self, config: RunnableConfig) -> int:
        return config.get("max_concurrency") or self.max_concurrency


def _refuse_call_keywords(kwargs: dict[str, Any]) -> None:
    """A run is configured on the batcher, or per call in its config; a keyword a router's
    invoke takes (``task=``) would otherwise fail as a private method's argument."""
    if kwargs:
        raise TypeError(
            f"ItemBatcher.invoke takes no call keywords (got {', '.join(sorted(kwargs))}): "
            "set them on the batcher (ItemBatcher(..., task=...)), or per call in the "
            "config (config={'metadata': {'task': ...}, 'max_concurrency': ...})"
        )


def _item_list(items: Any) -> list[Item]:
    """The items as a list; one text, one mapping or a prompt is refused, not iterated
    (a dict's keys or a prompt's fields would each get an answer as if they were items)."""
    if isinstance(items, str | bytes | Mapping | PromptValue | BaseMessage) or not isinstance(
        items, Iterable
    ):
        raise TypeError(
            f"ItemBatcher takes a list of items, got one {type(items).__name__}: wrap a single "
            "text or mapping in a list ([item]); in a chain, map the prompt's output to a list"
        )
    return list(items)


DEFAULT_CLASSIFY_INSTRUCTION = "Classify each item into exactly one of the allowed labels."


def batch_classify(
    items: Sequence[Item],
    labels: Sequence[str],
    *,
    model: ChatRunnable,
    instruction: str | None = None,
    config: RunnableConfig | None = None,
    **options: Any,
) -> list[ItemResult]:
    """Classify ``items`` into ``labels`` in few calls; one result per item, in order.

    ``options`` are `ItemBatcher`'s keyword arguments (max_items, task, cache, ...).
    """
    batcher = ItemBatcher(model, instruction or DEFAULT_CLASSIFY_INSTRUCTION, labels, **options)
    return batcher.invoke(items, config)


async def abatch_classify(
    items: Sequence[Item],
    labels: Sequence[str],
    *,
    model: ChatRunnable,
    instruction: str | None = None,
    config: RunnableConfig | None = None,
    **options: Any,
) -> list[ItemResult]:
    """Async twin of `batch_classify`."""
    batcher = ItemBatcher(model, instruction or DEFAULT_CLASSIFY_INSTRUCTION, labels, **options)
    return await batcher.ainvoke(items, config)
