"""Worker processes for the cross-process cache tests (importable, so spawn can run them)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from langchain_openai import ChatOpenAI

from langchain_costrouter import RoutedChatModel


def router_for(base_url: str, cache_url: str) -> RoutedChatModel:
    child = ChatOpenAI(
        model="gpt-4o-mini",
        base_url=base_url,
        api_key="test",
        max_retries=0,
        timeout=30,
        cache=False,
    )
    return RoutedChatModel(routes={"chat": [child]}, default_task="chat", cache=cache_url)


def ask(base_url: str, cache_url: str, prompt: str) -> tuple[str, bool]:
    """One call in a fresh process: the answer and whether it was a cache hit."""
    message = router_for(base_url, cache_url).invoke(prompt)
    return str(message.content), bool(message.response_metadata["costrouter"]["cache_hit"])


def burst(base_url: str, cache_url: str, prompt: str, start_at: float, calls: int) -> list[str]:
    """``calls`` concurrent identical requests, all released at ``start_at``."""
    router = router_for(base_url, cache_url)
    time.sleep(max(0.0, start_at - time.time()))
    with ThreadPoolExecutor(calls) as pool:
        return [str(m.content) for m in pool.map(lambda _: router.invoke(prompt), range(calls))]
