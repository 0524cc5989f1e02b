"""Work done in other processes and threads by the concurrency tests (importable by spawn)."""

from __future__ import annotations

from langchain_core.messages import AIMessage

from langchain_costrouter.callbacks import CostCallbackHandler
from langchain_costrouter.ledger import Ledger, open_ledger
from langchain_costrouter.testing.models import ScriptedChatModel

USAGE = {"input_tokens": 1000, "output_tokens": 100, "total_tokens": 1100}
COST_PER_CALL_USD = "0.00021"  # gpt-4o-mini: 1000 x $0.15 + 100 x $0.60 per million


def make_calls(ledger: Ledger, calls: int, label: str) -> None:
    """``calls`` chat model invocations recorded by a CostCallbackHandler."""
    handler = CostCallbackHandler(ledger)
    model = ScriptedChatModel(
        model="gpt-4o-mini", provider="openai", answers=[AIMessage("ok", usage_metadata=USAGE)]
    )
    for index in range(calls):
        model.invoke(
            f"{label} {index}", config={"callbacks": [handler], "metadata": {"task": label}}
        )


def process_main(url: str, table_prefix: str, calls: int, label: str) -> None:
    """A process of its own: open the ledger, make calls, exit (rows flushed at close)."""
    with open_ledger(url, table_prefix=table_prefix) as ledger:
        make_calls(ledger, calls, label)
