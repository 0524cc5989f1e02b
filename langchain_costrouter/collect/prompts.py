"""The eval set ``costrouter collect`` runs: one JSON object a line, ``{id, messages, reference?}``.

Read strictly and up front, before any provider is paid: a bad line (not JSON, no id,
a repeated id, messages that are not ``{role, content}``, a reference the scorer cannot
use) is an `OutcomesFormatError` naming the file and the line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_costrouter._outcome_records import parse_messages
from langchain_costrouter.collect.output import CUT_KEY, SCORER_KEY
from langchain_costrouter.errors import OutcomesFormatError
from langchain_costrouter.scoring import Scorer

_RESERVED = frozenset({"task", "outcomes", "version", "judge", SCORER_KEY, CUT_KEY})
"""Keys of an outcomes line that ``collect`` writes itself (or the reader checks): a
prompt's own would be overwritten, or make the line one calibrate refuses."""


@dataclass(frozen=True)
class Prompt:
    """One question of the eval set."""

    id: str
    messages: tuple[Mapping[str, str], ...]
    reference: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Other keys of the line (e.g. a category), copied to the outcomes line."""


def read_prompts(path: Path, scorer: Scorer) -> list[Prompt]:
    """Every prompt of ``path``, each checked against what ``scorer`` needs."""
    prompts: list[Prompt] = []
    seen: set[str] = set()
    with open(path, "rb") as lines:
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                prompt = _prompt(raw.decode("utf-8"), scorer)
            except (ValueError, UnicodeDecodeError) as error:
                raise OutcomesFormatError(str(path), number, str(error)) from None
            if prompt.id in seen:
                raise OutcomesFormatError(str(path), number, f"duplicate id {prompt.id!r}")
            seen.add(prompt.id)
            prompts.append(prompt)
    if not prompts:
        raise OutcomesFormatError(str(path), 0, "the file holds no prompts")
    return prompts


def _prompt(line: str, scorer: Scorer) -> Prompt:
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object {id, messages, reference?}")
    identifier = data.pop("id", None)
    if isinstance(identifier, int) and not isinstance(identifier, bool):
        identifier = str(identifier)
    if not isinstance(identifier, str) or not identifier:
        raise ValueError(f"'id' must be a non-empty string, got {identifier!r}")
    messages = parse_messages(data.pop("messages", None))
    reference = data.pop("reference", None)
    if reference is not None and not isinstance(reference, str):
        raise ValueError(f"'reference' must be a string when present, got {reference!r}")
    if problem := scorer.check_reference(reference):
        raise ValueError(problem)
    if reserved := sorted(_RESERVED & set(data)):
        raise ValueError(f"{reserved} are written by collect; remove them from the prompts")
    return Prompt(identifier, messages, reference, data)
