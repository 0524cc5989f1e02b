"""Fixtures of the compression tests: the bloated system prompt and scripted compressors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from langchain_costrouter.compression.scripted import (
    ScriptedCompressorModel,
    keep_leading_sentences,
)

BLOATED_PROMPT_PATH = (
    Path(__file__).parents[2] / "data" / "compression" / "bloated_system_prompt.md"
)
PLACEHOLDER = re.compile(r"\[\[KEEP_\d+\]\]")


@pytest.fixture
def bloated_prompt() -> str:
    """A 2,000+ token support-agent system prompt: repetitive prose around exact parts."""
    return BLOATED_PROMPT_PATH.read_text()


@pytest.fixture
def protected_parts(bloated_prompt: str) -> list[str]:
    """The parts of the bloated prompt that must come out byte-identical, in order."""
    code_json = _between(bloated_prompt, "```json\n", "\n```")
    schema = next(line for line in bloated_prompt.splitlines() if line.startswith('{"$schema"'))
    code_python = _between(bloated_prompt, "```python\n", "\n```")
    examples = _between(bloated_prompt, "Example 1:", "yourself.")
    return [code_json, schema, code_python, examples]


@pytest.fixture
def summariser() -> ScriptedCompressorModel:
    """A scripted compressor that keeps about half of each prose paragraph."""
    return ScriptedCompressorModel(rewrite=keep_leading_sentences(0.5))


@pytest.fixture
def corrupter() -> ScriptedCompressorModel:
    """A scripted compressor that rewrites the second protected span into something else."""

    def corrupt(text: str) -> str:
        second = PLACEHOLDER.findall(text)[1]
        return keep_leading_sentences(0.5)(text).replace(second, '{"order_id": "changed"}')

    return ScriptedCompressorModel(rewrite=corrupt)


def _between(text: str, start: str, end: str) -> str:
    first = text.index(start)
    return text[first : text.index(end, first) + len(end)]
