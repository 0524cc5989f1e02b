"""``costrouter collect``: run an eval set through the config's models and record outcomes.

Exit status 0 when every question is answered (now or by an earlier run), 1 when some
are left (failed, or the cost cap stopped the run: a re-run with the same ``--out``
continues where this one stopped), 2 on bad input.
"""

from __future__ import annotations

import argparse
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from langchain_costrouter.cli._arguments import positive_int
from langchain_costrouter.cli.output import check_output_file, print_report
from langchain_costrouter.collect import CallLimits, CollectOptions, collect
from langchain_costrouter.collect.calls import DEFAULT_MAX_OUTPUT_TOKENS
from langchain_costrouter.collect.run import DEFAULT_OUTPUT_TOKENS
from langchain_costrouter.scoring import SCORER_NAMES

EXIT_INCOMPLETE = 1
ON_INTERRUPT = "the questions finished are kept in --out: run the same command again to continue"
"""What ``costrouter`` adds after Ctrl-C: each finished question is appended at once."""


def configure(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``costrouter collect``."""
    parser.description = (
        "Send every question of PROMPTS (JSONL: {id, messages, reference?}) to each of "
        "--models through the config's router, score the answers and append one outcomes "
        "line per question to --out. A re-run skips questions already in --out. Exit 1 "
        "when questions are left (failed, or --max-cost-usd stopped the run): run it again."
    )
    parser.add_argument("prompts", type=Path, metavar="PROMPTS", help="eval set JSONL")
    parser.add_argument("--config", type=Path, required=True, help="costrouter TOML file")
    parser.add_argument("--task", required=True, help="task label of the outcomes")
    parser.add_argument(
        "--models", required=True, type=_names, help="config model names, comma-separated"
    )
    parser.add_argument(
        "--score", required=True, metavar="SCORER", help=f"one of: {', '.join(SCORER_NAMES)}"
    )
    parser.add_argument("--out", type=Path, required=True, help="outcomes JSONL (appended)")
    parser.add_argument("--concurrency", type=positive_int, default=4, help="calls in flight (4)")
    parser.add_argument(
        "--max-cost-usd",
        type=_dollars,
        help="never spend more: a question starts only if its worst case fits",
    )
    parser.add_argument(
        "--max-output-tokens",
        type=positive_int,
        default=DEFAULT_MAX_OUTPUT_TOKENS,
        help="output cap of every call, which bounds its cost; a cut answer is flagged "
        f"({DEFAULT_MAX_OUTPUT_TOKENS})",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the estimated cost and send nothing"
    )
    parser.add_argument("--ledger", help="ledger URL (default: the config's, else the default)")
    parser.add_argument(
        "--output-tokens",
        type=positive_int,
        default=DEFAULT_OUTPUT_TOKENS,
        help=f"expected answer length for the estimate ({DEFAULT_OUTPUT_TOKENS})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(func=run_collect)


def run_collect(args: argparse.Namespace) -> int:
    """Collect, print the report; 1 when questions are left for a re-run."""
    check_output_file(args.out, "--out", {"PROMPTS": args.prompts, "--config": args.config})
    options = CollectOptions(
        prompts=args.prompts,
        config=args.config,
        task=args.task,
        models=args.models,
        score=args.score,
        out=args.out,
        limits=CallLimits(concurrency=args.concurrency, max_output_tokens=args.max_output_tokens),
        max_cost_usd=args.max_cost_usd,
        dry_run=args.dry_run,
        ledger=args.ledger,
        output_tokens=args.output_tokens,
    )
    report = collect(options)
    print_report(report, as_json=args.json, render=render)
    left = report["questions"] - report["already_done"] - report.get("answered", 0)
    return EXIT_INCOMPLETE if left and not args.dry_run else 0


def render(report: dict[str, Any]) -> str:
    """The readable report: the plan and estimate, then what the run did."""
    estimate = report["estimate"]
    lines = [
        f"{report['questions']} questions, {report['already_done']} already in {report['out']}, "
        f"{report['to_do']} to answer by {', '.join(report['models'])} "
        f"(strongest: {report['strongest']}; score: {report['score']})",
        f"estimated cost: ${estimate['total_usd']:.6f} "
        f"(judge ${estimate['judge_usd']:.6f}; answers of ~{estimate['output_tokens_assumed']} "
        "tokens)",
    ]
    lines += [f"  {model}: ${cost:.6f}" for model, cost in estimate["by_model_usd"].items()]
    lines.append(
        f"worst case: ${estimate['worst_case_usd']:.6f} (every answer at "
        f"--max-output-tokens {estimate['max_output_tokens']}; --max-cost-usd admits a "
        "question only when its worst case fits)"
    )
    if report["dropped_partial_line"]:
        lines.append("dropped the cut-off last line of --out (a killed run); it is asked again")
    if report["dry_run"]:
        return "\n".join([*lines, "dry run: nothing was sent"])
    if "answered" in report:
        lines += _run_lines(report)
    return "\n".join(lines)


def _run_lines(report: dict[str, Any]) -> list[str]:
    lines = [
        f"answered {report['answered']} questions, spent ${report['spent_usd']:.6f} in "
        f"{report['provider_calls']} calls (ledger {report['ledger']}, purpose eval)"
    ]
    if report["reused_answers"]:
        lines.append(
            f"reused {report['reused_answers']} answers an earlier run paid for "
            "(kept until their question's line is written)"
        )
    if report["cut_by_max_output_tokens"]:
        lines.append(
            f"{report['cut_by_max_output_tokens']} questions have an answer cut at "
            "--max-output-tokens (listed in cut_by_max_output_tokens on their lines)"
        )
    if report["rate_limit_pauses"]:
        lines.append(f"paused {report['rate_limit_pauses']} times for provider rate limits")
    for question, reason in report["failed"].items():
        lines.append(f"failed {question}: {reason}")
    if report["stop_reason"]:
        lines.append(report["stop_reason"])
    left = report["questions"] - report["already_done"] - report["answered"]
    if left:
        lines.append(f"{left} questions left: run the same command again to continue")
    return lines


def _names(text: str) -> tuple[str, ...]:
    names = tuple(name.strip() for name in text.split(",") if name.strip())
    if not names:
        raise argparse.ArgumentTypeError("name at least one model")
    return names


def _dollars(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise argparse.ArgumentTypeError(f"not an amount of dollars: {text!r}") from error
    if not value.is_finite() or value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {text}")
    return value
