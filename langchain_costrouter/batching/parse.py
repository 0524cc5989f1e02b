"""Read a batch answer: JSON keyed by id, every id exactly once, every value valid.

Parsing is forgiving about the wrapping (markdown fences, prose around the JSON, an
object under a single key such as ``"results"``, or a list of ``{"id", "answer"}``
objects) and strict about the content: an id that is missing, repeated, or whose value
the schema rejects is a failure of that item only, so the other items of the batch
keep their answers and only the failures are sent again. An answer under an id that was
never asked (``i3`` for items ``i0``-``i2``) means the model numbered the items its own
way, so any of its answers may sit under a neighbour's id: the whole batch is sent again.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_costrouter.batching.items import is_item_id
from langchain_costrouter.batching.schema import ItemSchema

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)
_VALUE_KEYS = ("answer", "value", "label", "result", "output")
_ASKED_KEYS = frozenset({"id", "item"})
"""The keys of an entry of the prompt's array: an element holding only them is the item
echoed back (which a free-text schema would take for its answer), not an answer."""


@dataclass(frozen=True)
class BatchVerdict:
    """The outcome of one batch answer, per id."""

    values: dict[str, Any] = field(default_factory=dict)  # id -> validated value
    failures: dict[str, str] = field(default_factory=dict)  # id -> why it must be re-sent


class _JsonObject(dict[str, Any]):
    """A JSON object that remembers which of its keys appeared more than once."""

    duplicate_keys: frozenset[str] = frozenset()


def _object_hook(pairs: list[tuple[str, Any]]) -> _JsonObject:
    obj = _JsonObject(pairs)
    obj.duplicate_keys = frozenset(k for k, n in Counter(k for k, _ in pairs).items() if n > 1)
    return obj


def _loads(text: str) -> Any:
    return json.loads(text, object_pairs_hook=_object_hook)


def extract_json(text: str) -> Any:
    """Find the JSON document in a model's reply; raise `ValueError` if there is none."""
    candidates = [text.strip(), *(m.group(1).strip() for m in _FENCE.finditer(text))]
    for opener, closer in (("{", "}"), ("[", "]")):
        start, end = text.find(opener), text.rfind(closer)
        if 0 <= start < end:
            candidates.append(text[start : end + 1])
    for candidate in candidates:
        try:
            return _loads(candidate)
        except json.JSONDecodeError:
            continue
    raise ValueError(f"the answer is not valid JSON: {text[:200]!r}")


def _pairs_from_list(data: list[Any]) -> list[tuple[str, Any]]:
    pairs = []
    for element in data:
        if isinstance(element, dict) and "id" in element:
            rest = {k: v for k, v in element.items() if k not in _ASKED_KEYS}
            value_key = next((k for k in _VALUE_KEYS if k in rest), None)
            if value_key is not None:
                pairs.append((str(element["id"]).strip(), rest[value_key]))
            elif len(rest) == 1:
                pairs.append((str(element["id"]).strip(), next(iter(rest.values()))))
    return pairs


def _pairs_from_object(data: dict[str, Any]) -> list[tuple[str, Any]]:
    duplicates: frozenset[str] = getattr(data, "duplicate_keys", frozenset())
    # A repeated key keeps only its last value in the dict; list it twice so it fails.
    return [(k.strip(), v) for k, v in data.items()] + [(k.strip(), None) for k in duplicates]


def answer_pairs(data: Any, ids: Sequence[str]) -> list[tuple[str, Any]]:
    """Turn the accepted JSON shapes into (id, value) pairs, repeats included."""
    if isinstance(data, list):
        return _pairs_from_list(data)
    if not isinstance(data, dict):
        return []
    if len(data) == 1 and not set(ids) & {k.strip() for k in data}:
        (inner,) = data.values()
        if isinstance(inner, dict | list):
            return answer_pairs(inner, ids)
    return _pairs_from_object(data)


def judge(pairs: list[tuple[str, Any]], ids: Sequence[str], schema: ItemSchema) -> BatchVerdict:
    """Check each expected id: present exactly once and valid against the schema.

    Ids never asked void the batch's answers, except around a lone item: its own id
    cannot hold a neighbour's answer (a model obeying ids written inside an item answers
    them besides it).
    """
    stray = sorted({id_ for id_, _ in pairs if is_item_id(id_)} - set(ids))
    if stray and len(ids) > 1:
        reason = (
            f"the answer holds ids never asked ({', '.join(stray[:5])}): the model numbered "
            "the items its own way, so any answer may belong to another item"
        )
        return BatchVerdict(failures=dict.fromkeys(ids, reason))
    counts = Counter(id_ for id_, _ in pairs)
    answers = dict(pairs)
    verdict = BatchVerdict()
    for id_ in ids:
        if counts[id_] == 0:
            verdict.failures[id_] = f"no answer for id {id_}"
        elif counts[id_] > 1:
            verdict.failures[id_] = f"id {id_} answered {counts[id_]} times"
        else:
            try:
                verdict.values[id_] = schema.validate(answers[id_])
            except ValueError as error:
                verdict.failures[id_] = f"invalid answer for id {id_}: {error}"
    return verdict


def parse_answer(text: str, ids: Sequence[str], schema: ItemSchema) -> BatchVerdict:
    """Parse one batch answer into accepted values and per-id failures (see `judge`)."""
    try:
        data = extract_json(text)
    except ValueError as error:
        return BatchVerdict(failures={id_: str(error) for id_ in ids})
    return judge(answer_pairs(data, ids), ids, schema)
