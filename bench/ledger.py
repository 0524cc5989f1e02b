"""Cost per call of recording spend: the ledger and CostCallbackHandler.

An in-process chat model that answers at once makes LangChain's own per-call cost
the whole baseline, so any overhead of pricing and recording shows in full. Target:
the ledger adds at most 10% to a routed in-process call.

Run: python bench/ledger.py
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _timing import interleaved, print_table
from langchain_core.messages import AIMessage

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.callbacks import CostCallbackHandler
from langchain_costrouter.ledger import Ledger, open_ledger
from langchain_costrouter.testing.models import ScriptedChatModel

PROMPT = "Classify the sentiment of: the delivery was late but the support was great."
USAGE = {
    "input_tokens": 1200,
    "output_tokens": 40,
    "total_tokens": 1240,
    "input_token_details": {"cache_read": 1024},
}


def child() -> ScriptedChatModel:
    answer = AIMessage("positive", usage_metadata=USAGE)
    return ScriptedChatModel(model="gpt-4o-mini", provider="openai", answers=[answer])


def router(ledger: str | None) -> RoutedChatModel:
    return RoutedChatModel(routes={"chat": [child()]}, default_task="chat", ledger=ledger)


def scenarios(directory: Path) -> tuple[dict[str, Callable[[], object]], Ledger]:
    """The timed calls, and the SQLite router's ledger (flushed before rows are counted)."""
    plain, handled = child(), child()
    handler = CostCallbackHandler(f"sqlite:///{directory / 'handler.db'}")
    memory_handler = CostCallbackHandler("memory://")
    bare_router = router(None)
    sqlite_router = router(f"sqlite:///{directory / 'router.db'}")
    memory_router = router("memory://")
    with_handler = {"callbacks": [handler]}
    return {
        "model": lambda: plain.invoke(PROMPT),
        "model + handler (memory)": lambda: handled.invoke(
            PROMPT, config={"callbacks": [memory_handler]}
        ),
        "model + handler (sqlite)": lambda: handled.invoke(PROMPT, config=with_handler),
        "router": lambda: bare_router.invoke(PROMPT),
        "router, ledger=memory://": lambda: memory_router.invoke(PROMPT),
        "router, ledger=sqlite": lambda: sqlite_router.invoke(PROMPT),
        "router + handler (sqlite)": lambda: bare_router.invoke(PROMPT, config=with_handler),
    }, sqlite_router.ledger_store


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        fns, sqlite_ledger = scenarios(Path(directory))
        for fn in fns.values():  # warm up imports, price lookups, the writer threads
            fn()
        medians = interleaved(fns, calls=300, rounds=15)
        sqlite_ledger.close()  # the background writer's last batch
        rows_written = open_ledger(f"sqlite:///{directory}/router.db").summary(by="all")[0].attempts
    baselines = {"model": medians["model"], "router": medians["router"]}
    rows = []
    for name, seconds in medians.items():
        base = "router" if name.startswith("router") else "model"
        rows.append([name, f"{seconds * 1e6:.1f}", base, f"{seconds / baselines[base]:.3f}"])
    print_table(["scenario", "median per call (us)", "baseline", "ratio"], rows)
    print(f"\nrows written by the sqlite router ledger: {rows_written}")


if __name__ == "__main__":
    main()
