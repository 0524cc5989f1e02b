"""Copies of a prompt count once, whether or not the task keeps its prompts.

Own traffic asks a prompt again and again. Drift and calibration from the ledger count
prompts, not samples, so they must know which samples ask the same prompt: every sample
stores a digest of what was asked (`SampleRow.prompt_digest`), kept prompts or not.
"""

from __future__ import annotations

import itertools
import random
import uuid
from argparse import Namespace
from pathlib import Path
from typing import Any

import pytest

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.calibration.evaluate import OutcomeMatrix
from langchain_costrouter.cli.ledger_outcomes import outcomes_file
from langchain_costrouter.outcomes import read_outcomes
from langchain_costrouter.shadow.config import ShadowTask
from langchain_costrouter.shadow.drift import drift_table
from langchain_costrouter.shadow.store import ShadowStore
from langchain_costrouter.testing import LocalOpenAIServer
from langchain_costrouter.testing.evals import SumsResponder
from tests.integration_tests.shadow.test_shadow_router import questions, router
from tests.services import drop_tables

PROMPTS, COPIES = 60, 5
QUEUE = PROMPTS * COPIES  # every sample evaluated, none dropped


def ask_copies(routed: RoutedChatModel) -> None:
    """Each of ``PROMPTS`` questions asked ``COPIES`` times, in a shuffled order."""
    asked = [text for text, _, _ in questions(PROMPTS, seed=4)] * COPIES
    random.Random(3).shuffle(asked)
    for text in asked:
        routed.invoke(text)
    assert routed.shadow_evaluator.close(60)


def samples_of(url: str, prefix: str | None = None) -> list[Any]:
    store = ShadowStore(url, table_prefix=prefix)
    try:
        return store.read_samples()
    finally:
        store.close()


@pytest.fixture
def world(openai_server: LocalOpenAIServer) -> SumsResponder:
    responder = SumsResponder(strong="strong", weak="weak", judge="judge")
    openai_server.set_responder(responder)
    return responder


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.services)]
)
def test_drift_counts_a_prompt_once_without_its_prompt_kept(
    openai_server: LocalOpenAIServer,
    world: SumsResponder,
    tmp_path: Path,
    database: str,
    request: pytest.FixtureRequest,
) -> None:
    """60 prompts asked 5 times each, store_prompts off: the interval is the one drift
    gives with the prompts kept (60 prompts), not the 300 samples' narrower one."""
    prefix = f"sp{uuid.uuid4().hex[:8]}_"
    url = (
        request.getfixturevalue("postgres_url")
        if database == "postgres"
        else f"sqlite:///{tmp_path / 'unkept.sqlite'}"
    )
    kept_url = f"sqlite:///{tmp_path / 'kept.sqlite'}"
    kept = {"math": ShadowTask(1.0, store_prompts=True)}
    try:
        ask_copies(
            router(openai_server, score="numeric", queue_size=QUEUE, store=kept_url, tasks=kept)
        )
        ask_copies(
            router(openai_server, score="numeric", queue_size=QUEUE, store=url, table_prefix=prefix)
        )
        unkept_samples = samples_of(url, prefix)
        assert all(s.messages is None for s in unkept_samples)
        (with_prompts,) = drift_table(samples_of(kept_url), {})
        (without,) = drift_table(unkept_samples, {})
    finally:
        if database == "postgres":
            drop_tables(url, prefix)
    assert (with_prompts.samples, with_prompts.prompts) == (PROMPTS * COPIES, PROMPTS)
    assert (without.samples, without.prompts) == (PROMPTS * COPIES, PROMPTS)
    assert without.quality == with_prompts.quality
    assert without.interval == with_prompts.interval


def pseudonyms() -> Any:
    """A redactor that masks the question's words with a fresh token every time, as a
    pseudonymiser drawing new tokens per call does: copies are stored unlike each other."""
    counter = itertools.count()
    return lambda text: text.replace("What is", f"[masked-{next(counter)}]")


def masked(text: str) -> str:
    return text.replace("What is", "[masked]")


@pytest.mark.parametrize("redact", ["same each time", "fresh each time"])
def test_calibrating_from_the_ledger_keeps_a_prompt_s_copies_together(
    openai_server: LocalOpenAIServer, world: SumsResponder, tmp_path: Path, redact: str
) -> None:
    """calibrate --from-ledger's outcomes group as calibration groups them (by the
    messages' contents, `replay.record_key`): 60 prompts, not 300, however the prompt
    was redacted when stored."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    routed = router(
        openai_server,
        score="numeric",
        queue_size=QUEUE,
        store=url,
        tasks={"math": ShadowTask(1.0, store_prompts=True)},
        redact=pseudonyms() if redact == "fresh each time" else masked,
    )
    ask_copies(routed)
    args = Namespace(from_ledger=url, task="math", since=None, outcomes=None)
    with outcomes_file(args) as path:
        records = read_outcomes(path)
    assert len(records) == PROMPTS * COPIES
    groups = OutcomeMatrix.of(records).prompt_groups
    assert int(groups.max()) + 1 == PROMPTS
