"""Benchmark: 500 headlines classified one call per item vs `ItemBatcher`, same server.

Both runs use the real ``ChatOpenAI`` client against the in-process OpenAI-compatible
test server, the same instruction (FrugalGPT's HEADLINES few-shot prompt, extended with
training examples to at least 300 tokens) and the same concurrency. The server answers
from the reference labels, so accuracy only checks that no answer was lost or moved to
another item; calls, input tokens (as the server counted them) and wall time are what
the table compares. Exits non-zero when batching saves less than 60% of input tokens.

The headlines, their labels and the few-shot prompt are FrugalGPT's public HEADLINES
data (stanford-futuredata/FrugalGPT, Apache-2.0), not part of this repository: ``--data
DIR`` (or ``$COSTROUTER_DATA``) names the folder holding ``frugalgpt_2024_summary/``
(its ``data/HEADLINES/`` and ``config/prompt/HEADLINES/``).

Run: ``python bench/batching.py --data DIR [--items 500]``
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from langchain_costrouter.batching import batch_classify
from langchain_costrouter.batching.testing import batch_responder, request_text
from langchain_costrouter.testing import LocalOpenAIServer, Reply
from langchain_costrouter.tokens import count_text

LABELS = ["up", "down", "neutral", "none"]
INSTRUCTION_TOKENS = 300
CONCURRENCY = 4
LATENCY_S = 0.05  # per call, like a fast provider's time to first byte
TARGET_SAVING = 0.60


@dataclass(frozen=True)
class Row:
    method: str
    calls: int
    input_tokens: int
    output_tokens: int
    wall_s: float
    accuracy: float


def read_rows(path: Path) -> list[tuple[str, str]]:
    """(headline, label) pairs of a FrugalGPT HEADLINES csv ("Q: ...\\nA:", label, id)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [(q.removeprefix("Q: ").removesuffix("\nA:"), a) for q, a, _ in csv.reader(handle)]


def build_instruction(prefix: str, train: list[tuple[str, str]]) -> str:
    """The few-shot prompt, extended with training examples to the target length."""
    instruction = prefix.rstrip() + "\n"
    for headline, label in train:
        if count_text(instruction) >= INSTRUCTION_TOKENS:
            break
        instruction += f"\nQ: {headline}\nA: {label}\n"
    return instruction


def responder(reference: dict[str, str]) -> Callable[[dict[str, Any]], Reply]:
    """Answer batch prompts per id and single prompts directly, from the reference labels."""
    batch = batch_responder(lambda item: reference.get(str(item), "none"))

    def respond(body: dict[str, Any]) -> Reply:
        reply = batch(body)
        if reply is not None:
            return reply
        headline = request_text(body).removeprefix("Q: ").removesuffix("\nA:")
        return Reply(reference.get(headline, "none"))

    return respond


def per_item(chat: ChatOpenAI, instruction: str, headlines: list[str]) -> list[str]:
    """The usual way: one call per item, the instruction repeated every time."""
    prompts = [[SystemMessage(instruction), HumanMessage(f"Q: {h}\nA:")] for h in headlines]
    answers = chat.batch(prompts, config={"max_concurrency": CONCURRENCY})  # type: ignore[arg-type]
    return [str(answer.text).strip() for answer in answers]


def batched(chat: ChatOpenAI, instruction: str, headlines: list[str]) -> list[str]:
    """ItemBatcher: many headlines per call, answers validated per item."""
    results = batch_classify(
        headlines, LABELS, model=chat, instruction=instruction, max_concurrency=CONCURRENCY
    )
    return [str(result.value) if result.ok else "<error>" for result in results]


def measure(
    server: LocalOpenAIServer,
    method: str,
    run: Callable[[list[str]], list[str]],
    test: list[tuple[str, str]],
) -> Row:
    """Run one method on a freshly reset server and read the server's own counts."""
    server.reset()
    server.set_latency(LATENCY_S)
    server.set_responder(responder(dict(test)))
    start = time.perf_counter()
    answers = run([headline for headline, _ in test])
    wall = time.perf_counter() - start
    correct = sum(answer == label for answer, (_, label) in zip(answers, test, strict=True))
    return Row(
        method,
        server.request_count(),
        server.prompt_tokens_total(),
        sum(entry.completion_tokens for entry in server.requests),
        wall,
        correct / len(test),
    )


def print_table(rows: list[Row]) -> None:
    base = rows[0]
    print(
        f"{'method':<22}{'calls':>8}{'input tok':>11}{'output tok':>12}{'wall s':>9}"
        f"{'accuracy':>10}{'calls x':>9}{'input x':>9}{'wall x':>8}"
    )
    for row in rows:
        print(
            f"{row.method:<22}{row.calls:>8}{row.input_tokens:>11}{row.output_tokens:>12}"
            f"{row.wall_s:>9.2f}{row.accuracy:>10.3f}{row.calls / base.calls:>9.3f}"
            f"{row.input_tokens / base.input_tokens:>9.3f}{row.wall_s / base.wall_s:>8.3f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=os.environ.get("COSTROUTER_DATA", "/work/shared/data"))
    parser.add_argument("--items", type=int, default=500)
    args = parser.parse_args()
    root = Path(args.data) / "frugalgpt_2024_summary"
    test = read_rows(root / "data/HEADLINES/test.csv")[: args.items]
    prefix = (root / "config/prompt/HEADLINES/prefix_e8.txt").read_text(encoding="utf-8")
    instruction = build_instruction(prefix, read_rows(root / "data/HEADLINES/train.csv"))
    with LocalOpenAIServer() as server:
        chat = ChatOpenAI(model="gpt-4o-mini", base_url=server.base_url, api_key="test")
        rows = [
            measure(server, "one call per item", partial(per_item, chat, instruction), test),
            measure(server, "ItemBatcher", partial(batched, chat, instruction), test),
        ]
    print(
        f"{len(test)} items, instruction {count_text(instruction)} tokens, "
        f"concurrency {CONCURRENCY}, server latency {LATENCY_S}s per call\n"
    )
    print_table(rows)
    saving = 1 - rows[1].input_tokens / rows[0].input_tokens
    verdict = "PASS" if saving >= TARGET_SAVING else "FAIL"
    print(
        f"\ninput tokens saved by batching: {saving:.1%} (target >= {TARGET_SAVING:.0%}): {verdict}"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
