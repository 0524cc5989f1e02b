"""Prompt compression on a bloated system prompt and on real FrugalGPT few-shot prompts.

Run: ``python bench/compression.py``. Offline and deterministic.

For each prompt and strategy it prints tokens before/after (tiktoken cl100k_base), the
share of tokens protected (code, JSON, schemas, tools, few-shot examples: never sent to the
compressor), the compressor's one-time tokens, and the net saving per 10,000 requests at
$0.25 per 1M input tokens, after paying the one-time compression (compressor billed at
$0.25/M input and $2.00/M output). The baseline is the uncompressed prompt, measured here.

The "llm" strategy uses a SCRIPTED summariser (keeps the leading sentences of each prose
paragraph, about half its words), not a real model: its figures show the mechanics of
masking, verification, memoisation and accounting, not the quality of a real compressor.
A second table applies the prefix-cache rule to the bloated prompt.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from langchain_core.messages import SystemMessage

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from langchain_costrouter.compression import (  # noqa: E402
    PrefixCachePolicy,
    PromptCompressor,
    find_protected_spans,
    prefix_compression_pays,
)
from langchain_costrouter.compression.scripted import (  # noqa: E402
    ScriptedCompressorModel,
    keep_leading_sentences,
)
from langchain_costrouter.tokens import count_text  # noqa: E402

PROMPT_DIR = REPO.parent / "shared" / "data" / "frugalgpt_2024_summary" / "config" / "prompt"
PROMPTS = {
    "bloated system prompt (tests/data)": REPO / "tests/data/compression/bloated_system_prompt.md",
    "FrugalGPT SCIQ prefix_e8": PROMPT_DIR / "SCIQ/prefix_e8.txt",
    "FrugalGPT COQA prefix_e2": PROMPT_DIR / "COQA/prefix_e2.txt",
    "FrugalGPT AGNEWS prefix_e8": PROMPT_DIR / "AGNEWS/prefix_e8.txt",
}
STRATEGIES = {
    "none (baseline)": None,
    "deterministic": ("deterministic",),
    "llm (scripted)": ("llm",),
    "deterministic+llm (scripted)": ("deterministic", "llm"),
}
REQUESTS = 10_000
INPUT_PRICE = Decimal("0.25") / 1_000_000
OUTPUT_PRICE = Decimal("2.00") / 1_000_000


@dataclass(frozen=True)
class Row:
    prompt: str
    strategy: str
    before: int
    after: int
    protected_pct: float
    compressor_in: int
    compressor_out: int

    @property
    def one_time_cost(self) -> Decimal:
        return self.compressor_in * INPUT_PRICE + self.compressor_out * OUTPUT_PRICE

    @property
    def net_saving(self) -> Decimal:
        return (self.before - self.after) * REQUESTS * INPUT_PRICE - self.one_time_cost


def measure(name: str, text: str, strategy: str, chosen: tuple[str, ...] | None) -> Row:
    before = count_text(text)
    protected = sum(count_text(text[s.start : s.end]) for s in find_protected_spans(text))
    if chosen is None:
        return Row(name, strategy, before, before, 100 * protected / before, 0, 0)
    model = ScriptedCompressorModel(rewrite=keep_leading_sentences(0.5))
    compressor = PromptCompressor(model if "llm" in chosen else None, strategies=chosen, cache={})
    result = compressor.compress_messages([SystemMessage(text)])
    usage = [m.usage_metadata for m in result.compressor_messages if m.usage_metadata]
    return Row(
        prompt=name,
        strategy=strategy,
        before=before,
        after=count_text(result.messages[0].text),
        protected_pct=100 * protected / before,
        compressor_in=sum(u["input_tokens"] for u in usage),
        compressor_out=sum(u["output_tokens"] for u in usage),
    )


def print_rows(rows: list[Row]) -> None:
    header = (
        f"{'prompt':<36} {'strategy':<29} {'before':>6} {'after':>6} {'after/base':>10} "
        f"{'protected':>9} {'compr. in/out':>13} {'one-time $':>10} {'net $/10k req':>13}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.prompt:<36} {row.strategy:<29} {row.before:>6} {row.after:>6} "
            f"{row.after / row.before:>10.2f} {row.protected_pct:>8.0f}% "
            f"{f'{row.compressor_in}/{row.compressor_out}':>13} {row.one_time_cost:>10.5f} "
            f"{row.net_saving:>13.4f}"
        )


def print_prefix_rule(row: Row) -> None:
    print(f"\nPrefix-cache rule on '{row.prompt}' ({row.before} -> {row.after} tokens),")
    print("cached input at 10% of $0.25/M (prefix_compression_pays):")
    print(f"{'hit rate':>8} {'memoised (stable)':>18} {'not memoised':>13}")
    for hit_rate in (0.0, 0.5, 0.8, 0.9, 0.95):
        policy = PrefixCachePolicy(0.25, 0.025, hit_rate)
        decisions = [
            prefix_compression_pays(
                row.before,
                row.after,
                input_price=policy.input_price,
                cached_input_price=policy.cached_input_price,
                cache_hit_rate=policy.cache_hit_rate,
                compressed_cache_hit_rate=rate,
            )
            for rate in (None, 0.0)
        ]
        stable, unstable = ("compress" if d else "keep" for d in decisions)
        print(f"{hit_rate:>8.0%} {stable:>18} {unstable:>13}")


def main() -> None:
    rows = [
        measure(name, path.read_text(), strategy, chosen)
        for name, path in PROMPTS.items()
        for strategy, chosen in STRATEGIES.items()
    ]
    print_rows(rows)
    print(
        "\nllm = SCRIPTED summariser (no real model). FrugalGPT prompts are almost all few-shot"
        "\nexamples, protected by design; with under min_tokens=200 tokens of free prose"
        "\nthe model is not called."
    )
    print_prefix_rule(rows[3])


if __name__ == "__main__":
    main()
