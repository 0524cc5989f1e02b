"""``costrouter report``: spend, tokens and savings recorded in a ledger."""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from sqlalchemy.exc import SQLAlchemyError

from langchain_costrouter._private_files import write_private_file
from langchain_costrouter.cli.output import check_output_file
from langchain_costrouter.cli.report_html import render_page
from langchain_costrouter.cli.report_source import open_report_ledger
from langchain_costrouter.cli.report_table import table
from langchain_costrouter.errors import BackendUnavailableWarning, ConfigError
from langchain_costrouter.ledger import GROUP_BY, GroupBy, Ledger, Summary, SummaryRow
from langchain_costrouter.ledger.engine import default_ledger_url, sqlite_path
from langchain_costrouter.ledger.schema import DEFAULT_TABLE_PREFIX


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``costrouter report``."""
    parser.description = (
        "Summarise a cost ledger: calls, tokens, cost, reference cost, "
        "savings, cache hit rate and escalation rate."
    )
    parser.add_argument(
        "--ledger",
        default=None,
        help="ledger URL: memory://, sqlite:///PATH or postgresql://... "
        f"(default {default_ledger_url()})",
    )
    parser.add_argument(
        "--table-prefix",
        default=DEFAULT_TABLE_PREFIX,
        help="prefix of the ledger's tables, when it was opened with one "
        f"(default {DEFAULT_TABLE_PREFIX})",
    )
    parser.add_argument("--by", choices=[g for g in GROUP_BY if g != "all"], default="task")
    parser.add_argument(
        "--since",
        type=moment,
        help="only rows from this time on: an ISO date or time (UTC if naive), or 7d / 12h ago",
    )
    parser.add_argument("--until", type=moment, help="only rows before this time (same forms)")
    parser.add_argument("--namespace", help="only this namespace (tenant)")
    parser.add_argument("--task", help="only this task label")
    parser.add_argument(
        "--purpose",
        choices=("production", "eval", "shadow"),
        help="only calls of this purpose (production traffic, collect's eval calls, shadow)",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    output.add_argument("--csv", action="store_true", help="print the groups and total as CSV")
    parser.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="also write one self-contained HTML page with plots (needs the report extra)",
    )
    parser.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    """Print the report; a ConfigError when there is no ledger to read (`report_source`)."""
    url = args.ledger or default_ledger_url()
    if args.html is not None:  # never over the ledger it reads (a SQLite file)
        check_output_file(args.html, "--html", {"ledger": sqlite_path(url)})
    with warnings.catch_warnings():  # a database that is down is this command's error
        warnings.simplefilter("ignore", BackendUnavailableWarning)
        ledger = open_report_ledger(url, args.table_prefix)
    with ledger:
        try:
            figures = _figures(ledger, args)
        except SQLAlchemyError as error:  # the database is down, or not a ledger's
            cause = getattr(error, "orig", None) or error
            reason = str(cause).splitlines()[0]
            raise ConfigError(
                f"cannot read the ledger at {ledger.url} ({type(error).__name__}: {reason}); "
                "check that the database is up and that --ledger names it"
            ) from None
        groups, totals = figures.groups, figures.totals
        if figures.page is not None:
            days, tasks = figures.page
            page = render_page(f"Cost report: {ledger.url}", days, tasks, totals)
            write_private_file(args.html, page)
        pending = ledger.pending_rows()
    if pending:  # on stderr, so --json output stays one object
        print(
            f"note: {pending} rows of this ledger wait in its spool and are not in these "
            "figures yet; they are written once its database accepts them.",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(_report_json(ledger.url, args, groups, totals)))
    elif args.csv:
        print(_csv(args.by, groups, totals), end="")
    else:
        print(table(args.by, groups, totals))
    return 0


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "since": args.since,
        "until": args.until,
        "namespace": args.namespace,
        "task": args.task,
        "purpose": args.purpose,
    }


@dataclass(frozen=True)
class _Figures:
    """Every summary one report shows, read from one snapshot of the ledger."""

    groups: Summary
    totals: SummaryRow
    page: tuple[Summary, Summary] | None
    """The HTML page's days and tasks (None without --html)."""


def _figures(ledger: Ledger, args: argparse.Namespace) -> _Figures:
    """The report's summaries in one snapshot (`Ledger.snapshot`): a call recorded while
    they are read is in none of them, so the groups add up to the total and the page's
    tasks to the same total."""
    where = _filters(args)
    with ledger.snapshot() as view:
        groups = view.summary(by=cast(GroupBy, args.by), **where)  # argparse checked it
        (totals,) = view.summary(by="all", **where)
        page = None
        if args.html is not None:
            page = (view.summary(by="day", **where), view.summary(by="task", **where))
    return _Figures(groups, totals, page)


def _csv(by: str, groups: Summary, totals: SummaryRow) -> str:
    """One line per group and a ``total`` line, every summary field, dollars exact."""
    buffer = io.StringIO()
    rows = [row.to_dict() for row in groups] + [{**totals.to_dict(), "key": "total"}]
    writer = csv.DictWriter(buffer, fieldnames=[by, *list(rows[0])[1:]], lineterminator="\n")
    writer.writeheader()
    for row, source in zip(rows, [*groups, totals], strict=True):
        exact = {k: format(v.normalize(), "f") for k, v in _decimals(source).items()}
        writer.writerow({by: row.pop("key"), **row, **exact})
    return buffer.getvalue()


def _decimals(row: SummaryRow) -> dict[str, Decimal]:
    """The money fields as stored, so CSV dollars are exact (not float-rounded)."""
    values = {name: getattr(row, name) for name in row.__dataclass_fields__}
    return {name: value for name, value in values.items() if isinstance(value, Decimal)}


def _report_json(
    url: str, args: argparse.Namespace, groups: Summary, totals: SummaryRow
) -> dict[str, Any]:
    return {
        "ledger": url,
        "by": args.by,
        "since": args.since.isoformat() if args.since else None,
        "until": args.until.isoformat() if args.until else None,
        "filters": {"namespace": args.namespace, "task": args.task, "purpose": args.purpose},
        "groups": groups.to_dicts(),
        "totals": _with_reference_alias(totals.to_dict()),
    }


def _with_reference_alias(totals: dict[str, Any]) -> dict[str, Any]:
    """``reference_cost_usd`` names the same figure as ``baseline_cost_usd``.

    The ledger calls it the baseline (as the metadata record does); reports speak of
    the reference model, so both names are given.
    """
    return {**totals, "reference_cost_usd": totals.get("baseline_cost_usd")}


def moment(text: str) -> datetime:
    """An ISO date or time, or a span back from now: ``7d``, ``12h``, ``30m``."""
    match = _AGO.fullmatch(text.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2)
        return datetime.now(UTC) - timedelta(**{_UNITS[unit]: amount})
    try:
        return datetime.fromisoformat(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(
            f"not an ISO date or time, nor a span like 7d or 12h: {text!r}"
        ) from error


_AGO = re.compile(r"(\d+)([dhm])")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
