"""Cost per call of the ledger's write-ahead journal, with the database up and down.

Every routed call on a SQL ledger is appended to the journal (one JSON line, one
``write(2)``) before ``invoke`` returns. This measures that append against a routed
in-process call, the same store with the journal turned off (how the ledger wrote before
the spool existed), and a ledger whose database is unreachable (every row spooled).
Ratios are against ``router`` (no ledger), measured interleaved in the same run.

Run: python bench/ledger_spool.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _timing import interleaved, print_table
from ledger import PROMPT, child, router

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.ledger import SQLLedger
from langchain_costrouter.ledger._journal import Journal
from langchain_costrouter.ledger.call_rows import PendingCall


def routed(ledger: SQLLedger) -> RoutedChatModel:
    return RoutedChatModel(routes={"chat": [child()]}, default_task="chat", ledger=ledger)


def scenarios(directory: Path) -> dict[str, Callable[[], object]]:
    bare = router(None)
    journaled = routed(SQLLedger(f"sqlite:///{directory / 'journaled.db'}"))
    unjournaled_ledger = SQLLedger(f"sqlite:///{directory / 'plain.db'}")
    unjournaled_ledger._writer._journal = None  # the store as it wrote before the spool
    unjournaled = routed(unjournaled_ledger)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        down = routed(SQLLedger("postgresql://nobody@127.0.0.1:1/none"))
    record = bare.invoke(PROMPT).response_metadata["costrouter"]
    journal = Journal(directory / "alone", "sqlite:///alone", "p_")
    call = PendingCall(record, "run", datetime.now(UTC), "gpt-4o")

    def append_alone() -> None:
        with journal.lock:
            journal.append([call])

    return {
        "router": lambda: bare.invoke(PROMPT),
        "router, sqlite, no journal": lambda: unjournaled.invoke(PROMPT),
        "router, sqlite + journal": lambda: journaled.invoke(PROMPT),
        "router, postgres down (spooled)": lambda: down.invoke(PROMPT),
        "journal append alone": append_alone,
    }


def main() -> None:
    os.environ.setdefault("COSTROUTER_SPOOL_DIR", tempfile.mkdtemp(prefix="bench-spool-"))
    with tempfile.TemporaryDirectory() as directory, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unreachable ledger's warnings
        fns = scenarios(Path(directory))
        for fn in fns.values():  # warm up imports, price lookups, the writer threads
            fn()
        medians = interleaved(fns, calls=300, rounds=15)
    base = medians["router"]
    rows = [[name, f"{s * 1e6:.1f}", f"{s / base:.3f}"] for name, s in medians.items()]
    print_table(["scenario (best of interleaved rounds)", "median per call (us)", "/ router"], rows)


if __name__ == "__main__":
    main()
