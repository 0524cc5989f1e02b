"""Prompt compression: shrink bloated context, never touch what must stay exact.

``prompt | PromptCompressor(cheap_model, cache=store) | model`` rewrites only free prose.
Code, JSON, schemas, tool definitions, few-shot examples, quotations, ``<keep>...</keep>``
blocks and user regex matches are replaced by placeholders before the compressor sees the
text and are verified byte-identical afterwards; any damage means the original text is used,
with the reason recorded. Results are memoised by content hash, so a static prompt is
compressed once.
"""

from langchain_costrouter.compression.masking import KEEP_CLOSE, KEEP_OPEN
from langchain_costrouter.compression.memo import KeyValueStore
from langchain_costrouter.compression.prefix import PrefixCachePolicy, prefix_compression_pays
from langchain_costrouter.compression.runnable import COMPRESSOR_TAG, PromptCompressor
from langchain_costrouter.compression.spans import Span, find_protected_spans
from langchain_costrouter.compression.stage import CompressionResult

__all__ = [
    "COMPRESSOR_TAG",
    "KEEP_CLOSE",
    "KEEP_OPEN",
    "CompressionResult",
    "KeyValueStore",
    "PrefixCachePolicy",
    "PromptCompressor",
    "Span",
    "find_protected_spans",
    "prefix_compression_pays",
]
