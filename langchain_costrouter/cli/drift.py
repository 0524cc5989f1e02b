"""``costrouter drift``: has any task's live quality fallen below its policy's promise?

For a weekly cron or CI job: prints, per task and serving policy, the shadow samples'
quality with its interval next to the promise, and exits 1 when a task is below it
(0 otherwise; 2 on bad input). Each row names the promise it is held to (the guarded
search's lower bound, the legacy search's target, ...: `shadow.promise`), so a reader
can tell a real drop from a threshold that was never promised.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from langchain_costrouter.cli.ledger_outcomes import shadow_store, since_time
from langchain_costrouter.cli.output import print_report
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.ledger.engine import default_ledger_url, sqlite_path
from langchain_costrouter.shadow.drift import BELOW, TaskDrift, drift_table
from langchain_costrouter.shadow.rows import TRAIN, threshold_name

EXIT_DRIFT = 1


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``costrouter drift``."""
    parser.description = (
        "Compare recent shadow results per task with the quality its policy promised; "
        "exit 1 when a task's quality interval lies below the promise."
    )
    parser.add_argument(
        "--ledger", help=f"database of the shadow samples (default {default_ledger_url()})"
    )
    parser.add_argument(
        "--since", type=since_time, default="7d", help="7d, 36h, 2w or an ISO time (default 7d)"
    )
    parser.add_argument(
        "--policy", type=Path, help="hold every task to this policy file's promise instead"
    )
    parser.add_argument(
        "--min-samples",
        type=int,
        default=20,
        help="fewer distinct prompts say nothing, however often each was asked (20)",
    )
    parser.add_argument("--confidence", type=float, default=0.95, help="of the interval (0.95)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(func=run_drift)


def run_drift(args: argparse.Namespace) -> int:
    """Print the table; 1 when a task fell below its promise."""
    url = args.ledger or default_ledger_url()
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise ConfigError(f"no database at {path}; pass --ledger sqlite:///PATH of the ledger")
    if not 0.5 <= args.confidence < 1:
        raise ConfigError(f"--confidence must be in [0.5, 1), got {args.confidence}")
    override = None
    if args.policy is not None:
        from langchain_costrouter.shadow.promise import policy_promises

        override = {promise.task: promise for promise in policy_promises(args.policy)}
    with shadow_store(url, "--ledger", "no shadow samples") as store:
        rows = drift_table(
            store.read_samples(since=args.since),
            store.read_promises(),
            confidence=args.confidence,
            min_samples=args.min_samples,
            override=override,
        )
    report = {
        "ledger": store.url,
        "since": args.since.isoformat(),
        "tasks": [_json(r) for r in rows],
    }
    print_report(report, as_json=args.json, render=render)
    return EXIT_DRIFT if any(row.status == BELOW for row in rows) else 0


def render(report: dict[str, Any]) -> str:
    """The table of tasks, one line per task and serving policy."""
    rows = report["tasks"]
    if not rows:
        return f"no shadow samples in {report['ledger']} since {report['since']}"
    header = (
        f"{'task':<14} {'policy':<24} {'samples':>7} {'prompts':>7} {'failed':>6} {'quality':>8} "
        f"{'interval':>15} {'promised':>8} {'threshold':>9}  {'compared with':<19}  status"
    )
    lines = [f"shadow samples since {report['since']} in {report['ledger']}", header]
    lines += [_line(row) for row in rows]
    if any((row["promise"] or {}).get("source") == TRAIN for row in rows):
        lines.append(_TRAIN_NOTE)
    return "\n".join(lines)


_TRAIN_NOTE = (
    "train quality: the policy stated no target or bound, or its promise was recorded by "
    "an older version; restart the router on the policy to record it again, or pass "
    "--policy FILE"
)
"""Why a task is held to its train quality, and how to hold it to what its policy promised.

A promise recorded before drift read the guarded search's bound is the in-sample train
figure, which healthy traffic falls short of by chance.
"""


def _line(row: dict[str, Any]) -> str:
    quality = "-" if row["quality"] is None else f"{row['quality']:.3f}"
    interval = "-" if row["interval"] is None else "[{:.3f}, {:.3f}]".format(*row["interval"])
    promise = row["promise"]
    promised = "-" if promise is None else f"{promise['quality']:.3f}"
    low = "-" if promise is None else f">= {promise['low']:.3f}"
    basis = "-" if promise is None else promise["compared_with"]
    return (
        f"{row['task']:<14} {row['policy'][:24]:<24} {row['samples']:>7} {row['prompts']:>7} "
        f"{row['failed']:>6} {quality:>8} {interval:>15} {promised:>8} {low:>9}  {basis:<19}  "
        f"{row['status']}"
    )


def _json(row: TaskDrift) -> dict[str, Any]:
    promise = row.promise
    return {
        "task": row.task,
        "policy": row.policy,
        "samples": row.samples,
        "prompts": row.prompts,
        "failed": row.failed,
        "quality": row.quality,
        "interval": None if row.interval is None else list(row.interval),
        "promise": None
        if promise is None
        else {
            "policy": promise.name,
            "quality": promise.quality,
            "low": promise.low,
            "high": promise.high,
            "source": promise.source,
            "compared_with": threshold_name(promise.source),
        },
        "status": row.status,
    }
