"""A platform without ``fcntl`` (Windows): the ledger runs, without its crash journal.

Run in a child interpreter where ``import fcntl`` fails, as it does on Windows, so the
modules are imported the way they would be there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

_CHILD = """
import json, sys, warnings
sys.modules["fcntl"] = None  # `import fcntl` now raises ImportError, as on Windows
from langchain_costrouter import RoutedChatModel
from langchain_costrouter.testing import ScriptedChatModel
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    child = ScriptedChatModel(answers=["four"], model="gpt-4o-mini")
    router = RoutedChatModel(routes={"chat": [child]}, default_task="chat", ledger=sys.argv[1])
    answer = router.invoke("2+2?").content
    router.ledger_store.flush()
rows = router.ledger_store.rows()
print(json.dumps({"answer": answer, "rows": len(rows), "cost": str(rows[0].cost_usd),
                  "warnings": [str(w.message) for w in caught]}))
"""


def test_a_ledger_without_fcntl_records_every_call_and_says_its_journal_is_off(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    env = {"COSTROUTER_SPOOL_DIR": str(tmp_path / "spool"), "PATH": ""}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, url], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["answer"] == "four"
    assert report["rows"] == 1
    assert report["cost"] != "None"
    assert any("no fcntl file locks" in warning for warning in report["warnings"])
    assert not (tmp_path / "spool").exists() or not any((tmp_path / "spool").rglob("*.jsonl"))
