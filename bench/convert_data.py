"""Convert recorded benchmark outcomes of commercial LLMs into outcomes files.

The input is public data recorded by others and not part of this repository: FrugalGPT's
OVERRULING answers of 12 models with what each call was charged (published through the
OptLLM repository, which has no licence file: evaluation only), and RouteLLM's GSM8K,
MMLU and MT-Bench answers of gpt-4-1106-preview and Mixtral-8x7B with their correctness
or judge scores (lm-sys/RouteLLM, Apache-2.0), as byte-identical copies of the upstream
files. ``--data DIR`` names the folder that holds them: ``DIR/frugalgpt_overruling_2023/
overruling.csv`` and ``DIR/routellm/{gsm8k,mmlu,mt_bench}/``. The output format is
docs/architecture.md 2.3.

Usage::

    python bench/convert_data.py --data DIR [--out DIR] [--demo]

Writes overruling.jsonl, gsm8k.jsonl, mmlu.jsonl and mt_bench.jsonl to the cache
directory ($COSTROUTER_DATA_CACHE, default ~/.cache/langchain-costrouter/data), never
into git: the OVERRULING file has no licence and may only be used for evaluation.
``--demo`` also rewrites the small Apache-2.0 RouteLLM sample shipped as package data.

Costs: OVERRULING records what FrugalGPT was charged. RouteLLM recorded no costs, so
they are estimated from cl100k token counts at the list prices of its README
(gpt-4-1106-preview $10/$30 per 1M input/output tokens, Mixtral-8x7B $0.6/$0.6).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from langchain_costrouter.calibration.evaluate import OutcomeMatrix, single_model_figures
from langchain_costrouter.outcomes import ModelOutcome, OutcomeRecord, write_outcomes
from langchain_costrouter.tokens import count_text

REPO = Path(__file__).resolve().parents[1]
STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"
PRICES = {STRONG: (10e-6, 30e-6), WEAK: (0.6e-6, 0.6e-6)}  # USD per input/output token
OVERRULING_MODELS = (
    "gptneox_20B", "gptj_6B", "fairseq_gpt_13B", "text-davinci-002", "text-curie-001",
    "gpt-3.5-turbo", "gpt-4", "j1-jumbo", "j1-grande", "j1-large", "xlarge", "medium",
)  # fmt: skip
# MMLU is left out of the demo: RouteLLM recorded its correctness but not the answers,
# and a replayed router needs answer text.
DEMO_SIZES = {"math": 150, "chat": 80}


def default_cache_dir() -> Path:
    """Where converted files go: $COSTROUTER_DATA_CACHE or the user cache dir."""
    env = os.environ.get("COSTROUTER_DATA_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "langchain-costrouter" / "data"


def priced(
    model: str, text: str | None, input_tokens: int, output_tokens: int, score: float
) -> ModelOutcome:
    """An outcome with token counts and the cost they have at the README's list prices."""
    price_in, price_out = PRICES[model]
    cost = round(input_tokens * price_in + output_tokens * price_out, 9)
    return ModelOutcome(score, text, cost, input_tokens, output_tokens)


def overruling(data: Path) -> Iterator[OutcomeRecord]:
    """FrugalGPT's 2023 OVERRULING answers of 12 models, with their recorded costs."""
    with open(data / "frugalgpt_overruling_2023" / "overruling.csv", encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            outcomes = {
                m: ModelOutcome(float(row[m]), row[f"{m}_answer"], float(row[f"{m}_cost"]))
                for m in OVERRULING_MODELS
            }
            yield OutcomeRecord(
                id=f"overruling-{row['']}",
                task="classification",
                messages=({"role": "user", "content": row["query"]},),
                outcomes=outcomes,
                reference=row["ref_answer"],
            )


def _contaminated(path: Path) -> set[str]:
    with open(path, encoding="utf-8") as lines:
        return {json.loads(line)["eval_prompt"] for line in lines if line.strip()}


def gsm8k(data: Path) -> Iterator[OutcomeRecord]:
    """RouteLLM's GSM8K responses of GPT-4 and Mixtral, contaminated prompts dropped."""
    folder = data / "routellm" / "gsm8k"
    dropped = _contaminated(folder / "contaminated_prompts.jsonl")
    with open(folder / "gsm8k_responses.csv", encoding="utf-8") as rows:
        for index, row in enumerate(csv.DictReader(rows)):
            if row["prompt"] in dropped:
                continue
            prompt_tokens = count_text(row["prompt"])
            outcomes = {
                m: priced(m, row[f"{m}_response"], prompt_tokens,
                          count_text(row[f"{m}_response"]), float(row[m] == "True"))
                for m in (WEAK, STRONG)
            }  # fmt: skip
            yield OutcomeRecord(
                id=f"gsm8k-{index}",
                task="math",
                messages=({"role": "user", "content": row["prompt"]},),
                outcomes=outcomes,
            )


def mmlu(data: Path) -> Iterator[OutcomeRecord]:
    """RouteLLM's MMLU correctness (57 subjects). No responses were recorded.

    The answer text is left out (replay answers ""), the output is priced as one
    token (the letter), and the scorer learns from the question alone.
    """
    folder = data / "routellm" / "mmlu"
    dropped = _contaminated(folder / "contaminated_prompts.jsonl")
    for path in sorted((folder / "responses").glob("mmlu_*.csv")):
        subject = path.stem.removeprefix("mmlu_")
        with open(path, encoding="utf-8") as rows:
            for index, row in enumerate(csv.DictReader(rows)):
                if row["prompt"] in dropped:
                    continue
                prompt_tokens = count_text(row["prompt"])
                outcomes = {
                    m: priced(m, None, prompt_tokens, 1, float(row[m] == "True"))
                    for m in (WEAK, STRONG)
                }
                yield OutcomeRecord(
                    id=f"mmlu-{subject}-{index}",
                    task="knowledge",
                    messages=({"role": "user", "content": row["prompt"]},),
                    outcomes=outcomes,
                    extra={"subject": subject},
                )


_ANSWER = re.compile(
    r"\[The Start of Assistant's Answer\]\n(.*)\n\[The End of Assistant's Answer\]", re.S
)
_TURNS = re.compile(
    r"### Assistant A:\n(.*?)\n\n(?:### User:|<\|The End of Assistant A's Conversation)", re.S
)


def judged_answer(user_prompt: str, turn: int) -> tuple[str, str]:
    """(answer of the judged turn, text the model had read before it) from a judge prompt."""
    if turn == 1:
        match = _ANSWER.search(user_prompt)
        if match is None:
            raise ValueError("no single-turn answer block in judge prompt")
        return match.group(1), ""
    conversation = user_prompt[user_prompt.index("<|The Start of Assistant A's Conversation") :]
    answers = _TURNS.findall(conversation)
    if len(answers) != 2:
        raise ValueError(f"expected 2 assistant turns, found {len(answers)}")
    return answers[1], answers[0]


def mt_bench(data: Path) -> Iterator[OutcomeRecord]:
    """RouteLLM's MT-Bench judgements: GPT-4 judge score 1-10 rescaled to [0, 1].

    A turn-2 record keeps both user turns; the turn-1 answer each model saw differs
    per model, so it is left out of the messages but counted in the input tokens.
    """
    folder = data / "routellm" / "mt_bench"
    with open(folder / "question.jsonl", encoding="utf-8") as lines:
        questions = {q["question_id"]: q for q in map(json.loads, lines)}
    judged: dict[tuple[int, int], dict[str, ModelOutcome]] = {}
    with open(folder / "judgements.jsonl", encoding="utf-8") as lines:
        for entry in map(json.loads, lines):
            if entry["score"] < 0:
                continue
            qid, turn = entry["question_id"], entry["turn"]
            answer, earlier = judged_answer(entry["user_prompt"], turn)
            asked = "\n".join(questions[qid]["turns"][:turn]) + earlier
            judged.setdefault((qid, turn), {})[entry["model"]] = priced(
                entry["model"], answer, count_text(asked), count_text(answer),
                (entry["score"] - 1) / 9,
            )  # fmt: skip
    for (qid, turn), outcomes in sorted(judged.items()):
        if len(outcomes) != 2:
            continue
        question = questions[qid]
        yield OutcomeRecord(
            id=f"mt-bench-{qid}-{turn}",
            task="chat",
            messages=tuple({"role": "user", "content": t} for t in question["turns"][:turn]),
            outcomes=outcomes,
            extra={"category": question["category"], "turn": turn},
        )


def demo_sample(data: Path) -> list[OutcomeRecord]:
    """The shipped demo: every few GSM8K rows and MT-Bench turn 1 (Apache-2.0)."""
    math = list(gsm8k(data))
    chat = [record for record in mt_bench(data) if record.id.endswith("-1")]
    sample: list[OutcomeRecord] = []
    for records, size in ((math, DEMO_SIZES["math"]), (chat, DEMO_SIZES["chat"])):
        step = max(1, len(records) // size)
        sample.extend(records[::step][:size])
    return sample


def describe(name: str, records: list[OutcomeRecord]) -> None:
    """Print per-model quality and total cost of a converted file."""
    figures = single_model_figures(OutcomeMatrix.of(records))
    print(f"{name}: {len(records)} records")
    for model, fig in figures.items():
        print(f"  {model:40s} quality {fig.quality:.4f}  cost ${fig.cost_usd:.4f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=default_cache_dir())
    parser.add_argument("--demo", action="store_true", help="rewrite the packaged demo sample")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"data folder {args.data} not found; pass --data", file=sys.stderr)
        return 2
    converters = {"overruling": overruling, "gsm8k": gsm8k, "mmlu": mmlu, "mt_bench": mt_bench}
    for name, convert in converters.items():
        records = list(convert(args.data))
        write_outcomes(args.out / f"{name}.jsonl", records)
        describe(name, records)
    if args.demo:
        target = REPO / "langchain_costrouter" / "data" / "demo_outcomes.jsonl"
        count = write_outcomes(target, demo_sample(args.data))
        print(f"demo sample: {count} records, {target.stat().st_size / 1e6:.2f} MB -> {target}")
    print(f"outcomes written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
