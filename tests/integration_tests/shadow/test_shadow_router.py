"""Shadow evaluation on a live router against the test server: sampled, judged, stored, bounded."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.checks import RegexMatch
from langchain_costrouter.errors import BackendUnavailableWarning
from langchain_costrouter.ledger import InMemoryLedger
from langchain_costrouter.pricing import ModelPrice, PriceTable
from langchain_costrouter.routes import Tier
from langchain_costrouter.shadow.config import ShadowConfig, ShadowTask
from langchain_costrouter.shadow.drift import drift_table
from langchain_costrouter.shadow.outcomes import shadow_outcomes
from langchain_costrouter.shadow.store import ShadowStore
from langchain_costrouter.testing import Fault, LocalOpenAIServer
from langchain_costrouter.testing.evals import SumsResponder, sum_prompts
from tests.server_fixtures import openai_chat
from tests.services import drop_tables

PRICES = PriceTable(
    {
        "weak": ModelPrice(input_per_mtok=0.15, output_per_mtok=0.6),
        "strong": ModelPrice(input_per_mtok=2.5, output_per_mtok=10),
        "judge": ModelPrice(input_per_mtok=0.15, output_per_mtok=0.6),
    }
)


@pytest.fixture
def world(openai_server: LocalOpenAIServer) -> SumsResponder:
    responder = SumsResponder(strong="strong", weak="weak", judge="judge")
    openai_server.set_responder(responder)
    return responder


def router(
    server: LocalOpenAIServer,
    ledger: Any = "memory://",
    *,
    weak_logprobs: bool = False,
    **shadow: Any,
) -> RoutedChatModel:
    """math: weak -> strong (no check: weak serves); the judge and strong alone routed too."""
    settings: dict[str, Any] = {"tasks": {"math": 1.0}, "score": "judge:judge", "seed": 0}
    weak = (
        openai_chat(server, "weak", logprobs=True) if weak_logprobs else openai_chat(server, "weak")
    )
    return RoutedChatModel(
        routes={
            "math": [weak, openai_chat(server, "strong")],
            "grading": [openai_chat(server, "judge")],
            "direct": [openai_chat(server, "strong")],
        },
        default_task="math",
        prices=PRICES,
        ledger=ledger,
        shadow=ShadowConfig(**{**settings, **shadow}),
    )


def questions(count: int, seed: int = 0) -> Iterator[tuple[str, int, int]]:
    for line in sum_prompts(count, seed=seed):
        text = line["messages"][0]["content"]
        a, b = map(int, text.removeprefix("What is ").removesuffix("?").split(" + "))
        yield text, a, b


def test_sampled_answers_are_judged_against_the_reference_and_stored(
    openai_server: LocalOpenAIServer, world: SumsResponder
) -> None:
    masked = "[number]"
    routed = router(
        openai_server,
        tasks={"math": ShadowTask(1.0, store_prompts=True)},
        redact=lambda text: text.replace("What is", masked),
    )
    expected = {}
    for text, a, b in questions(10):
        answer = routed.invoke(text)
        assert answer.response_metadata["model_name"] == "weak"  # the user got the cheap tier
        expected[answer.response_metadata["costrouter"]["run_id"]] = float(
            world._weak_answer(a, b).endswith(f" {a + b}.")
        )
    shadow = routed.shadow_evaluator
    assert shadow.drain(30)
    assert shadow.stats().evaluated == 10 and shadow.stats().dropped == 0
    samples = shadow.store.read_samples()
    assert {s.run_id: s.score for s in samples} == expected
    sample = samples[0]
    assert (sample.served_by, sample.reference_model, sample.served_tier) == ("weak", "strong", 0)
    assert sample.messages is not None and sample.messages[0]["content"].startswith(masked)
    assert sample.reference_text is not None and sample.reference_text.startswith("The answer")
    assert openai_server.request_count("strong") == 10
    assert openai_server.request_count("judge") == 20  # both orders
    shadow_rows = [row for row in routed.ledger_store.rows() if row.model in ("strong", "judge")]
    assert len(shadow_rows) == 30
    judged = sum((row.cost_usd for row in shadow_rows if row.model == "judge"), Decimal(0))
    assert sum((s.judge_cost or Decimal(0) for s in samples), Decimal(0)) == judged


def test_the_served_answers_logprobs_are_stored_and_become_outcomes(
    openai_server: LocalOpenAIServer, world: SumsResponder
) -> None:
    routed = router(
        openai_server, weak_logprobs=True, tasks={"math": ShadowTask(1.0, store_prompts=True)}
    )
    for text, _, _ in questions(8, seed=2):
        routed.invoke(text)
    assert routed.shadow_evaluator.drain(30)
    samples = routed.shadow_evaluator.store.read_samples()
    assert len(samples) == 8
    for sample in samples:
        assert sample.served_logprobs is not None
        doubtful = "not sure" in (sample.served_text or "")
        assert sample.served_logprobs.min == (-1.5 if doubtful else -0.05)
        assert sample.reference_logprobs is None  # the reference model was not asked
    records = shadow_outcomes(samples, "math").records
    assert [r.outcomes["weak"].logprobs for r in records] == [s.served_logprobs for s in samples]


def test_a_sample_served_past_a_lower_tier_costs_only_the_served_answer(
    openai_server: LocalOpenAIServer, world: SumsResponder
) -> None:
    """The sample kept the whole call's cost (the weak tier's rejected answer too) as the
    served model's, so calibrate --from-ledger priced that model at what the cascade paid."""
    never = Tier.of(openai_chat(openai_server, "weak"), check=RegexMatch("^never$"), threshold=1)
    routed = RoutedChatModel(
        routes={
            "math": [
                never,
                openai_chat(openai_server, "judge"),
                openai_chat(openai_server, "strong"),
            ]
        },
        prices=PRICES,
        ledger="memory://",
        shadow=ShadowConfig(tasks={"math": ShadowTask(1.0, store_prompts=True)}, score="exact"),
    )
    record = routed.invoke("What is 2 + 3?").response_metadata["costrouter"]
    weak, served = record["attempts"]
    assert (weak["model"], served["model"], record["served_by"]) == ("weak", "judge", "judge")
    assert routed.shadow_evaluator.drain(30)
    (sample,) = routed.shadow_evaluator.store.read_samples()
    assert (
        sample.served_cost == Decimal(repr(served["cost_usd"])) < Decimal(repr(record["cost_usd"]))
    )
    (outcomes,) = shadow_outcomes([sample], "math").records
    assert outcomes.outcomes["judge"].cost_usd == served["cost_usd"]


def test_prompts_are_kept_only_where_the_task_opted_in(
    openai_server: LocalOpenAIServer, world: SumsResponder
) -> None:
    routed = router(openai_server)  # a rate alone: prompts are not kept
    for text, _, _ in questions(3):
        routed.invoke(text)
    assert routed.shadow_evaluator.drain(30)
    samples = routed.shadow_evaluator.store.read_samples()
    assert len(samples) == 3
    assert all(s.messages is s.served_text is s.reference_text is None for s in samples)
    assert all(s.score is not None for s in samples)


def test_the_sampled_share_follows_the_rate(
    openai_server: LocalOpenAIServer, world: SumsResponder
) -> None:
    routed = router(openai_server, tasks={"math": 0.25}, seed=7)
    for text, _, _ in questions(40):
        routed.invoke(text)
        routed.invoke(text, task="grading")  # a task not opted in is never sampled
    assert routed.shadow_evaluator.drain(30)
    draws = random.Random(7)
    expected = sum(draws.random() < 0.25 for _ in range(40))
    assert routed.shadow_evaluator.stats().sampled == expected
    assert {s.task for s in routed.shadow_evaluator.store.read_samples()} == {"math"}


def test_under_load_a_full_queue_drops_samples_and_counts_them_while_users_are_answered(
    openai_server: LocalOpenAIServer, world: SumsResponder
) -> None:
    release = threading.Event()

    def reference_blocked(body: dict[str, Any]) -> Any:
        if body["model"] == "strong":  # the shadow's reference call hangs until released
            release.wait(30)
        return world(body)

    openai_server.set_responder(reference_blocked)
    routed = router(openai_server, queue_size=2, workers=1)
    texts = [text for text, _, _ in questions(40)]
    with ThreadPoolExecutor(8) as users:  # 8 concurrent users, 40 calls
        answers = list(users.map(routed.invoke, texts))
    # Every user was answered by the cheap tier while the reference was still hanging:
    assert all(a.response_metadata["model_name"] == "weak" for a in answers)
    shadow = routed.shadow_evaluator
    stats = shadow.stats()
    assert stats.sampled == 40
    assert stats.dropped >= 40 - 3  # one sample in the worker, two waiting: no more room
    release.set()
    assert shadow.drain(30)
    stats = shadow.stats()
    assert stats.evaluated + stats.dropped == 40 and stats.failed == 0
    assert len(shadow.store.read_samples()) == stats.evaluated


async def test_async_callers_are_sampled_too(
    openai_server: LocalOpenAIServer, world: SumsResponder
) -> None:
    routed = router(openai_server)
    await asyncio.gather(*(routed.ainvoke(text) for text, _, _ in questions(8)))
    assert await asyncio.to_thread(routed.shadow_evaluator.drain, 30)
    assert routed.shadow_evaluator.stats().evaluated == 8


def test_a_failing_reference_never_fails_the_users_call(
    openai_server: LocalOpenAIServer, world: SumsResponder
) -> None:
    openai_server.script([Fault("500")] * 4, model="strong")
    routed = router(openai_server)
    for text, _, _ in questions(4):
        assert routed.invoke(text).response_metadata["model_name"] == "weak"
    shadow = routed.shadow_evaluator
    assert shadow.drain(30)
    failed = [s for s in shadow.store.read_samples() if s.score is None]
    assert len(failed) == 4  # the scripted 500s reached the shadow's reference calls only
    assert all("Error code: 500" in (s.error or "") for s in failed)
    assert shadow.stats().failed == len(failed)
    (row,) = drift_table(shadow.store.read_samples(), {})
    assert row.failed == len(failed)


@pytest.mark.parametrize("reference_fails", [True, False])
def test_a_sample_the_store_cannot_keep_is_one_failure_never_a_negative_count(
    reference_fails: bool, openai_server: LocalOpenAIServer, world: SumsResponder, tmp_path: Path
) -> None:
    """A failed reference call then a failed write counted the sample failed twice and
    took it off the evaluated ones: 3 samples read evaluated=-3, failed=6."""
    if reference_fails:
        openai_server.script([Fault("500")] * 3, model="strong")
    database = tmp_path / "shadow.sqlite"
    routed = router(openai_server, store=f"sqlite:///{database}")
    with sqlite3.connect(database) as lost:  # the samples table is gone: every write fails
        lost.execute("DROP TABLE costrouter_shadow_samples")
    with pytest.warns(BackendUnavailableWarning, match="shadow evaluation failed"):
        ask_and_drain(routed, 3)
    stats = routed.shadow_evaluator.stats()
    assert (stats.sampled, stats.evaluated, stats.failed, stats.dropped) == (3, 0, 3, 0)


def test_the_reference_serving_itself_scores_one_without_a_call(
    openai_server: LocalOpenAIServer, world: SumsResponder
) -> None:
    routed = router(openai_server, tasks={"math": 1.0, "direct": 1.0})
    routed.invoke("What is 1 + 2?", model="weak")  # pinned to a model: never sampled
    routed.invoke("What is 10 + 20?", config={"metadata": {"task": "direct"}})
    shadow = routed.shadow_evaluator
    assert shadow.drain(30)
    (sample,) = shadow.store.read_samples()
    assert (sample.task, sample.served_by, sample.score) == ("direct", "strong", 1.0)
    assert openai_server.request_count("strong") == 1  # the user's call only
    assert openai_server.request_count("judge") == 0


@pytest.mark.services
def test_samples_in_postgres_under_a_prefix_of_their_own(
    openai_server: LocalOpenAIServer, world: SumsResponder, postgres_url: str
) -> None:
    prefix = f"shadow_{uuid.uuid4().hex[:8]}_"
    try:
        routed = router(openai_server, store=postgres_url, table_prefix=prefix)
        for text, _, _ in questions(5):
            routed.invoke(text)
        assert routed.shadow_evaluator.close(30)
        store = ShadowStore(postgres_url, table_prefix=prefix)
        assert len(store.read_samples(task="math")) == 5
        store.close()
    finally:
        drop_tables(postgres_url, prefix)


def ask_and_drain(routed: RoutedChatModel, count: int) -> None:
    """Ask ``count`` questions, then wait until the shadow evaluated every sample."""
    for text, _, _ in questions(count):
        routed.invoke(text)
    assert routed.shadow_evaluator.drain(30)


class CallsLedger(InMemoryLedger):
    """The memory ledger, keeping each call's record too (what a ledger row is built from)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict[str, Any]] = []

    def add_call(self, meta: Any, **kwargs: Any) -> None:
        self.records.append(dict(meta))
        super().add_call(meta, **kwargs)


def test_shadow_calls_are_ledger_calls_with_purpose_shadow(
    openai_server: LocalOpenAIServer, world: SumsResponder
) -> None:
    ledger = CallsLedger()
    routed = router(openai_server, ledger, store="memory://")
    routed.invoke("What is 12 + 30?")
    assert routed.shadow_evaluator.drain(30)
    live, shadow = ledger.records
    assert live["purpose"] == "production"
    assert shadow["purpose"] == "shadow" and shadow["shadow_of"] == live["run_id"]
    purposes = {row.run_id: row.purpose for row in ledger.rows()}
    assert purposes == {live["run_id"]: "production", shadow["run_id"]: "shadow"}
    assert [a["role"] for a in shadow["attempts"]] == ["answer", "judge", "judge"]
    levers = shadow["savings_usd"]
    judged = sum(a["cost_usd"] for a in shadow["attempts"][1:])
    assert levers["cascade"] == pytest.approx(-judged, abs=1e-12)
    assert sum(levers.values()) == pytest.approx(shadow["baseline_cost_usd"] - shadow["cost_usd"])
