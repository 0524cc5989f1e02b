"""What a call cost, in exact `Decimal` dollars.

Prices are data: the `genai-prices` snapshot bundled with that package (offline)
plus overrides from code or the config file for models it lacks, such as
self-hosted ones. `PriceTable.price` turns a LangChain ``UsageMetadata`` into
dollars: uncached, cached-read and cache-written input, output with reasoning,
reasoning and audio tokens at their own prices where a model has them, a per-request
fee, service tiers, batch discounts and long-context tiers, as genai-prices'
``calc_price`` prices the same usage.
"""

from typing import TYPE_CHECKING

from langchain_costrouter._lazy import lazy_exports

# Lazy (PEP 562): the ledger needs `token_counts` alone, not the genai-prices table.
if TYPE_CHECKING:
    from langchain_costrouter.pricing.model_price import ModelPrice, PriceValue
    from langchain_costrouter.pricing.table import PricedUsage, PriceTable
    from langchain_costrouter.pricing.usage import TokenCounts, token_counts
else:
    __getattr__, __dir__ = lazy_exports(
        __name__,
        {
            "langchain_costrouter.pricing.model_price": ("ModelPrice", "PriceValue"),
            "langchain_costrouter.pricing.table": ("PricedUsage", "PriceTable"),
            "langchain_costrouter.pricing.usage": ("TokenCounts", "token_counts"),
        },
    )

__all__ = ["ModelPrice", "PriceTable", "PriceValue", "PricedUsage", "TokenCounts", "token_counts"]
