"""A process that routes calls through the real ChatOpenAI while its ledger is cut off.

Run as ``python -m tests.integration_tests.ledger.spool_workers BASE_URL LEDGER PREFIX N``:
prints each returned call's run id, then ``done``, then waits to be killed.
``python -m ... open LEDGER PREFIX`` opens the ledger (writing what was spooled), prints
the rows still pending, and exits.
"""

from __future__ import annotations

import logging
import sys
import time

from langchain_openai import ChatOpenAI

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.ledger import SQLLedger


def route_calls(base_url: str, ledger_url: str, prefix: str, calls: int) -> None:
    model = ChatOpenAI(model="gpt-4o-mini", base_url=base_url, api_key="test", max_retries=0)
    ledger = SQLLedger(ledger_url, table_prefix=prefix)
    router = RoutedChatModel(routes={"chat": [model]}, default_task="chat", ledger=ledger)
    for index in range(calls):
        answer = router.invoke(f"question {index}")
        print(answer.response_metadata["costrouter"]["run_id"], flush=True)
    print("done", flush=True)
    time.sleep(3600)  # killed by the test (SIGKILL) long before


def open_ledger_once(ledger_url: str, prefix: str) -> None:
    """Open the ledger, print the rows still pending, and (on stderr) what it replayed."""
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    with SQLLedger(ledger_url, table_prefix=prefix) as ledger:
        print(ledger.pending_rows(), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "open":
        open_ledger_once(sys.argv[2], sys.argv[3])
    else:
        route_calls(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
