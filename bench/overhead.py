"""Overhead of RoutedChatModel over calling its child directly.

(a) an in-process chat model that answers at once: the router's own cost next to
    LangChain's per-call overhead (target: ratio <= 1.25);
(b) ChatOpenAI against the local OpenAI-compatible HTTP server (target: <= 1.05).

Run: python bench/overhead.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _timing import interleaved, print_table
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.testing import LocalOpenAIServer
from langchain_costrouter.testing.models import ScriptedChatModel

PROMPT = "Classify the sentiment of: the delivery was late but the support was great."


def measure(name: str, child: BaseChatModel, *, calls: int, rounds: int) -> list[object]:
    router = RoutedChatModel(routes={"chat": [child]}, default_task="chat")
    fns = {"child": lambda: child.invoke(PROMPT), "router": lambda: router.invoke(PROMPT)}
    for fn in fns.values():  # warm up imports, price lookups, connections
        fn()
    medians = interleaved(fns, calls=calls, rounds=rounds)
    ratio = medians["router"] / medians["child"]
    return [name, f"{medians['child'] * 1e6:.0f}", f"{medians['router'] * 1e6:.0f}", f"{ratio:.3f}"]


def main() -> None:
    rows = [
        measure(
            "in-process child",
            ScriptedChatModel(model="gpt-4o-mini", answers=["positive"]),
            calls=200,
            rounds=15,
        )
    ]
    with LocalOpenAIServer() as server:
        child = ChatOpenAI(
            model="gpt-4o-mini",
            base_url=server.base_url,
            api_key="bench",
            max_retries=0,
            cache=False,
        )
        rows.append(measure("ChatOpenAI over HTTP", child, calls=30, rounds=15))
    print_table(["child", "child median (us)", "router median (us)", "router/child"], rows)


if __name__ == "__main__":
    main()
