"""Calibrated cascades on RouteLLM's GSM8K and MT-Bench data, next to RouteLLM's published figures.

Same models as RouteLLM (weak = Mixtral-8x7B-Instruct, strong = gpt-4-1106-preview),
same recorded answers and judge scores: RouteLLM's public GSM8K and MT-Bench outcomes
(lm-sys/RouteLLM, Apache-2.0), not part of this repository, read from ``--data DIR``
(the folder holding ``routellm/``) and converted by convert_data.py.
For each set: seed-0 half split, policies calibrated on the train half at two
targets (GPT-4's train quality, and 95% of it as in RouteLLM's headline), each run
through `RoutedChatModel` with replayed answers over the test half; cost from the
ledger. Printed per row: quality (MT-Bench also on the 1-10 judge scale), share of
queries that called GPT-4, and the saving against always-GPT-4 measured in the same
run. RouteLLM's rows are quoted from the data README (their test sets, their routers).

Run: python bench/routellm_compare.py --data DIR
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from convert_data import REPO, STRONG, gsm8k, mt_bench

from langchain_costrouter.calibration import SearchOptions, calibrate
from langchain_costrouter.calibration.evaluate import (
    Figures,
    OutcomeMatrix,
    oracle_figures,
    savings_pct,
    single_model_figures,
)
from langchain_costrouter.calibration.report import checked_split
from langchain_costrouter.calibration.run import RunSummary, replay_router, run_records
from langchain_costrouter.outcomes import OutcomeRecord

TARGET_RATIOS = (1.0, 0.95)
PUBLISHED = {
    "gsm8k": [
        ("RouteLLM: always GPT-4", "0.8577", "100%", "0%"),
        ("RouteLLM: always Mixtral", "0.6373", "0%", "-"),
        ("RouteLLM: per-query oracle", "0.9296", "29.2%", "-"),
    ],
    "mt_bench": [
        ("RouteLLM: always GPT-4", "9.228", "100%", "0%"),
        ("RouteLLM: always Mixtral", "8.341", "0%", "-"),
        ("RouteLLM: matches Unify's router", "8.7579", "25.4%", "-"),
        ("Unify (commercial router)", "8.7579", "45.6%", "-"),
        ("Martian (commercial router)", "8.3125", "-", "-"),
        ("RouteLLM: 95% of GPT-4 quality", "-", "-", "~85%"),
    ],
}


def rows_for(name: str, records: list[OutcomeRecord]) -> Iterator[tuple[str, str, str, str]]:
    """Our rows for one data set: always-GPT-4, oracle, then each calibrated target."""
    train, test = checked_split(records, 0.5, seed=0)
    matrix = OutcomeMatrix.of(test)
    gpt4 = single_model_figures(matrix)[STRONG]
    yield _row(name, "ours: always GPT-4 (test half)", gpt4, gpt4, len(test))
    yield _row(name, "ours: per-query oracle", oracle_figures(matrix), gpt4, len(test))
    for ratio in TARGET_RATIOS:
        policy = calibrate(train, SearchOptions(quality_ratio=ratio))
        calls = run_records(replay_router(policy, records), test, label=f"{name} {ratio}")
        routed = RunSummary.of(calls).figures()
        yield _row(name, f"ours: cascade, target {ratio:.0%} of GPT-4", routed, gpt4, len(test))


def _row(name: str, label: str, figures: Figures, gpt4: Figures, size: int) -> tuple[str, ...]:
    quality = f"{figures.quality:.4f}"
    if name == "mt_bench":
        quality += f" ({1 + 9 * figures.quality:.3f})"
    share = figures.calls_by_model.get(STRONG, 0) / size
    saving = savings_pct(figures.cost_usd, gpt4.cost_usd)
    return (label, quality, f"{share:.1%}", f"{saving:.1f}%")


def print_table(title: str, rows: list[tuple[str, ...]]) -> None:
    header = ("", "quality", "GPT-4 calls", "saving vs GPT-4")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    print(f"\n{title}")
    for row in [header, *rows]:
        print(
            row[0].ljust(widths[0])
            + "".join(c.rjust(w + 3) for c, w in zip(row[1:], widths[1:], strict=True))
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    args = parser.parse_args()
    if not (args.data / "routellm").is_dir():
        print(f"RouteLLM data not found under {args.data}; pass --data", file=sys.stderr)
        return 2
    for name, convert in (("gsm8k", gsm8k), ("mt_bench", mt_bench)):
        ours = list(rows_for(name, list(convert(args.data))))
        scale = " (MT-Bench: quality = (score - 1) / 9, judge score in brackets)"
        print_table(f"{name}{scale if name == 'mt_bench' else ''}", ours + PUBLISHED[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
