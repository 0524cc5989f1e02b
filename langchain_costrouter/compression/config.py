"""A `PromptCompressor` from a ``compress = {...}`` table of the configuration file.

A route's ``compress`` table applies to that task and ``[router.compress]`` to every task.
``model`` names one of the file's ``[models.*]``; without it only the free deterministic
strategy runs. Each compressor memoises its results in process (the `MEMO_ENTRIES` most
recently used), so a static system prompt costs one compressor call per process.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel

from langchain_costrouter._unknown_keys import unknown_key_message
from langchain_costrouter.compression.memo import RecentEntries
from langchain_costrouter.compression.runnable import PromptCompressor
from langchain_costrouter.errors import ConfigError

COMPRESS_KEYS = ("model", "strategies", "target_ratio", "min_tokens", "protect_patterns")
MEMO_ENTRIES = 1024
"""Compressed texts a configured compressor remembers (system prompts and recent turns)."""


def compressor_from_config(
    spec: Any, *, path: str, key: str, chat_models: Mapping[str, BaseChatModel]
) -> PromptCompressor:
    """Build the compressor a ``compress`` table describes.

    Args:
        spec: The table: optional ``model``, ``strategies``, ``target_ratio``,
            ``min_tokens`` and ``protect_patterns`` (the `PromptCompressor` arguments).
        path: The configuration file, named in errors.
        key: The table's key path (``routes.<task>.compress`` or ``router.compress``).
        chat_models: The file's chat models by their ``[models.*]`` name.

    Raises:
        ConfigError: The table is invalid; the error names the file and the key.
    """
    reader = _Spec(path, key)
    table = reader.table(spec)
    llm = reader.model(table, chat_models)
    options: dict[str, Any] = {
        "strategies": reader.strings(table, "strategies"),
        "target_ratio": reader.number(table, "target_ratio", 0.5),
        "min_tokens": reader.whole_number(table, "min_tokens", 200),
        "protect_patterns": reader.patterns(table),
    }
    try:
        return PromptCompressor(llm, cache=RecentEntries(MEMO_ENTRIES), **options)
    except ConfigError as error:  # the constructor's own argument checks, without a key
        raise reader.fail(key, str(error)) from error


@dataclass(frozen=True)
class _Spec:
    path: str
    key: str

    def fail(self, key: str, expected: str) -> ConfigError:
        return ConfigError(expected, path=self.path, key=key)

    def table(self, spec: Any) -> dict[str, Any]:
        if not isinstance(spec, dict):
            raise self.fail(self.key, f"expected a table with keys among {list(COMPRESS_KEYS)}")
        for name in spec:
            if name not in COMPRESS_KEYS:
                raise self.fail(f"{self.key}.{name}", unknown_key_message(name, COMPRESS_KEYS))
        return spec

    def model(
        self, table: Mapping[str, Any], chat_models: Mapping[str, BaseChatModel]
    ) -> BaseChatModel | None:
        name = table.get("model")
        if name is None:
            return None
        if not isinstance(name, str) or name not in chat_models:
            raise self.fail(
                f"{self.key}.model", f"expected one of {sorted(chat_models)}, got {name!r}"
            )
        return chat_models[name]

    def strings(self, table: Mapping[str, Any], name: str) -> list[str] | None:
        value = table.get(name)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise self.fail(f"{self.key}.{name}", f"expected a list of strings, got {value!r}")
        return value

    def number(self, table: Mapping[str, Any], name: str, default: float) -> float:
        value = table.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(f"{self.key}.{name}", f"expected a number, got {value!r}")
        return value

    def whole_number(self, table: Mapping[str, Any], name: str, default: int) -> int:
        value = table.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(f"{self.key}.{name}", f"expected a whole number, got {value!r}")
        return value

    def patterns(self, table: Mapping[str, Any]) -> list[re.Pattern[str]]:
        compiled = []
        for index, pattern in enumerate(self.strings(table, "protect_patterns") or ()):
            try:
                compiled.append(re.compile(pattern))
            except re.error as error:
                key = f"{self.key}.protect_patterns[{index}]"
                raise self.fail(key, f"not a valid regular expression: {error}") from error
        return compiled
