"""Item batching: many small items in one prompt, validated per item, nothing lost.

items -> ids (i0, i1, ...) -> cache lookup -> pack (token budget, max count)
      -> prompt (items as JSON values) -> model -> parse JSON by id -> validate
      -> failures re-sent in halving batches -> one ItemResult per item, in order
"""

from langchain_costrouter.batching.cache import InMemoryItemCache, ItemCache
from langchain_costrouter.batching.results import ItemResult, PriceFn
from langchain_costrouter.batching.runnable import ItemBatcher, abatch_classify, batch_classify
from langchain_costrouter.batching.schema import (
    ItemSchema,
    LabelSchema,
    PydanticSchema,
    TextSchema,
)

__all__ = [
    "InMemoryItemCache",
    "ItemBatcher",
    "ItemCache",
    "ItemResult",
    "ItemSchema",
    "LabelSchema",
    "PriceFn",
    "PydanticSchema",
    "TextSchema",
    "abatch_classify",
    "batch_classify",
]
