"""The user's latency with shadow evaluation on, against the same router without it.

Three routers on the local OpenAI-compatible server answer the same questions, in
interleaved rounds: no shadow; shadow on 5% of the calls; shadow on every call (rate 1.0)
with a queue large enough
that the background threads evaluate every sample (the reference model and the judge
are called over HTTP meanwhile); and shadow on every call with a one-place queue in front
of a slow reference model, so nearly every sample is dropped. Latency is per user call
(median and 95th percentile); the ratios are against the no-shadow router of the same run.

Run: python bench/shadow.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _timing import print_table
from langchain_openai import ChatOpenAI

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.pricing import ModelPrice, PriceTable
from langchain_costrouter.shadow.config import ShadowConfig
from langchain_costrouter.testing import LocalOpenAIServer
from langchain_costrouter.testing.evals import SumsResponder, sum_prompts

ROUNDS = 15
CALLS = 20
PRICES = PriceTable(
    {
        name: ModelPrice(input_per_mtok=price, output_per_mtok=price)
        for name, price in (("weak", 0.2), ("strong", 5.0), ("judge", 0.2))
    }
)


def router(server: LocalOpenAIServer, shadow: ShadowConfig | None) -> RoutedChatModel:
    def chat(model: str) -> ChatOpenAI:
        return ChatOpenAI(model=model, base_url=server.base_url, api_key="bench", max_retries=0)

    return RoutedChatModel(
        routes={"math": [chat("weak"), chat("strong")], "grading": [chat("judge")]},
        default_task="math",
        prices=PRICES,
        ledger="memory://",
        shadow=shadow,
    )


def main() -> None:
    with LocalOpenAIServer() as server, LocalOpenAIServer() as slow:
        world = SumsResponder(strong="strong", weak="weak", judge="judge")
        server.set_responder(world)
        slow.set_responder(world)
        slow.set_latency(1.0, model="strong")  # the reference of the dropping router is slow
        shadow = {"tasks": {"math": 1.0}, "score": "judge:judge", "store": "memory://"}
        routers = {
            "no shadow": router(server, None),
            "shadow 5% of calls": router(
                server, ShadowConfig(**{**shadow, "tasks": {"math": 0.05}}, queue_size=10_000)
            ),
            "shadow, every call evaluated": router(
                server, ShadowConfig(**shadow, queue_size=10_000, workers=1)
            ),
            "shadow, queue full (drops)": router(slow, ShadowConfig(**shadow, queue_size=1)),
        }
        questions = [line["messages"][0]["content"] for line in sum_prompts(CALLS, seed=0)]
        latencies: dict[str, list[float]] = {name: [] for name in routers}
        for routed in routers.values():  # warm up connections and price lookups
            routed.invoke(questions[0])
        for _ in range(ROUNDS):
            for name, routed in routers.items():
                for question in questions:
                    start = time.perf_counter()
                    routed.invoke(question)
                    latencies[name].append(time.perf_counter() - start)
        base = statistics.median(latencies["no shadow"])
        base_p95 = statistics.quantiles(latencies["no shadow"], n=20)[-1]
        rows = []
        for name, routed in routers.items():
            median = statistics.median(latencies[name])
            p95 = statistics.quantiles(latencies[name], n=20)[-1]
            stats = getattr(routed.shadow_evaluator, "stats", None)
            counts = "-" if stats is None else f"{stats().sampled}/{stats().dropped}"
            rows.append(
                [
                    name,
                    f"{median * 1e3:.2f}",
                    f"{median / base:.3f}",
                    f"{p95 * 1e3:.2f}",
                    f"{p95 / base_p95:.3f}",
                    counts,
                ]
            )
        for routed in routers.values():
            close = getattr(routed.shadow_evaluator, "close", None)
            if close is not None:
                close(timeout=0.1)
    print_table(["router", "median ms", "vs none", "p95 ms", "vs none", "sampled/dropped"], rows)


if __name__ == "__main__":
    main()
