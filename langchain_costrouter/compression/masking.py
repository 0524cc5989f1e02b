"""Placeholders for protected spans, the user's ``<keep>`` marker, and the final byte check.

The compressor only ever sees prose in which each protected span is replaced by a marker
such as ``[[KEEP_3]]``. Its answer is accepted only if every marker comes back exactly once
and in order; the spans are then put back and checked once more, byte for byte, against the
original, and the prose must state the same numbers and code-like names. Anything else
means the original text is used.

The ``<keep>...</keep>`` marker: wrap any part of a prompt in it to protect that part. The
markers themselves are removed from every text the compressor processes (whether it ends up
compressed or not), so the downstream model never sees them; the content between them is
passed through byte-identical.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from langchain_costrouter.compression.deterministic import sentence_key, split_sentences
from langchain_costrouter.compression.spans import Span

KEEP_OPEN = "<keep>"
KEEP_CLOSE = "</keep>"
_KEEP = re.compile(re.escape(KEEP_OPEN) + r"(.*?)" + re.escape(KEEP_CLOSE), re.DOTALL)


@dataclass(frozen=True)
class MaskedText:
    """Prose with placeholders, and what each placeholder stands for (in order)."""

    text: str
    placeholders: tuple[str, ...]
    protected: tuple[str, ...]
    kinds: tuple[str, ...]


def strip_keep_markers(text: str) -> tuple[str, list[Span]]:
    """Remove ``<keep>``/``</keep>`` pairs; return the text and the spans they enclosed."""
    parts: list[str] = []
    spans: list[Span] = []
    position = length = 0
    for match in _KEEP.finditer(text):
        before, inner = text[position : match.start()], match.group(1)
        spans.append(Span(length + len(before), length + len(before) + len(inner), "keep"))
        parts += [before, inner]
        length += len(before) + len(inner)
        position = match.end()
    parts.append(text[position:])
    return "".join(parts), spans


def mask(text: str, spans: Sequence[Span]) -> MaskedText:
    """Replace each (disjoint, sorted) span by a placeholder that does not occur in ``text``."""
    tag = "KEEP"
    while f"[[{tag}_" in text:
        tag += "X"
    placeholders = tuple(f"[[{tag}_{number}]]" for number in range(1, len(spans) + 1))
    parts: list[str] = []
    position = 0
    for span, placeholder in zip(spans, placeholders, strict=True):
        parts += [text[position : span.start], placeholder]
        position = span.end
    parts.append(text[position:])
    return MaskedText(
        text="".join(parts),
        placeholders=placeholders,
        protected=tuple(text[span.start : span.end] for span in spans),
        kinds=tuple(span.kind for span in spans),
    )


def placeholder_problem(output: str, masked: MaskedText) -> str | None:
    """Why ``output`` cannot be unmasked safely, or None when every marker is intact."""
    previous = -1
    for placeholder, kind in zip(masked.placeholders, masked.kinds, strict=True):
        count = output.count(placeholder)
        if count != 1:
            state = "missing from" if count == 0 else f"repeated {count} times in"
            return f"protected {kind} span {placeholder} {state} the compressed text"
        position = output.find(placeholder)
        if position < previous:
            return f"protected {kind} span {placeholder} moved out of order"
        previous = position
    return None


def unmask(output: str, masked: MaskedText) -> str:
    """Put the protected spans back in place of their placeholders."""
    if not masked.placeholders:
        return output
    by_placeholder = dict(zip(masked.placeholders, masked.protected, strict=True))
    pattern = re.compile("|".join(re.escape(p) for p in masked.placeholders))
    return pattern.sub(lambda match: by_placeholder[match.group()], output)


# A sign that no word or number touches is the number's ("-18", "\u221240", "+3"); the
# dash of a range ("2-8") is not.
_NUMBER = re.compile(r"(?:(?<![\w.,])[-+\u2212])?\d+(?:[.,]\d+)*")
_LIST_NUMBER = re.compile(r"(?m)^[ \t]*\d+[.)](?=\s)")


def numbers_problem(original: str, output: str) -> str | None:
    """Check that ``output`` states the numbers of ``original``, in order, none lost or new.

    Numbers in prose are not masked (the model must read them in their sentence), so
    a rewrite that turns "within 30 days" into "within 3 days", invents a limit, or
    swaps two figures ("revenue 5, cost 7" as "revenue 7, cost 5") changes the
    instructions. A sentence said before may go with its numbers, as the free rules drop
    it (a numbered step done again may not); list numbering ("1. ", "2) ") may change
    freely. Neither rewriter reorders: the rules drop whole sentences and the model is
    told to keep the numbers' order (compression/llm.py).
    """
    said = _numbers(output)
    if _follows(said, _sentence_numbers(original)):
        return None
    stated = _numbers(original)
    return _difference("number", set(stated), set(said)) or _sequence_problem(stated, said)


def _numbers(text: str) -> list[str]:
    """The numbers ``text`` states, list numbering left out; a minus sign is one sign."""
    return _figures(_LIST_NUMBER.sub("", text))


def _figures(text: str) -> list[str]:
    return [n.replace("\u2212", "-") for n in _NUMBER.findall(text)]


def _sentence_numbers(text: str) -> Iterator[tuple[tuple[str, ...], bool]]:
    """Each sentence's numbers, as `_numbers` reads the whole text, and whether the
    sentence repeats an earlier one, so a rewrite may drop it."""
    said: set[str] = set()
    lines = text.split("\n")
    for index, line in enumerate(lines):
        item = _LIST_NUMBER.match(line + "\n" if index < len(lines) - 1 else line)
        for sentence in [line[item.end() :]] if item else split_sentences(line):
            numbers = tuple(_figures(sentence))
            key = sentence_key(sentence)
            if numbers:
                yield numbers, item is None and key in said
            said.add(key)


def _follows(said: Sequence[str], sentences: Iterable[tuple[tuple[str, ...], bool]]) -> bool:
    """Whether ``said`` is every sentence's numbers in order, a repeated one's or not.

    Bit p of ``reachable`` says the sentences so far can state exactly ``said[:p]``; one
    big-integer mask per number keeps it linear in the figures, whatever the repeats.
    """
    at: dict[str, int] = {}
    for position, number in enumerate(said):
        at[number] = at.get(number, 0) | 1 << position
    reachable = 1
    for numbers, repeated in sentences:
        starts = reachable
        for offset, number in enumerate(numbers):
            starts &= at.get(number, 0) >> offset
        stated = starts << len(numbers)
        reachable = reachable | stated if repeated else stated
    return bool(reachable >> len(said) & 1)


def _sequence_problem(stated: list[str], said: list[str]) -> str:
    """What a rewrite stating the original's numbers, but not as `_follows` allows, did."""
    before, after = Counter(stated), Counter(said)
    more = next((number for number in said if after[number] > before[number]), None)
    if more is not None:
        return (
            f"number {more} is stated {_times(after[more])} in the compressed text and "
            f"{_times(before[more])} in the original"
        )
    if reordered := _reordering(stated, said):
        return reordered
    fewer = next(number for number in stated if after[number] < before[number])
    return (
        f"number {fewer} is stated {_times(before[fewer])} in the original and "
        f"{_times(after[fewer])} in the compressed text; only a repeated sentence's numbers may go"
    )


def _reordering(stated: list[str], said: list[str]) -> str | None:
    """Where ``said`` leaves the order of ``stated``: first as the numbers first appear
    (a rewrite saying a repeated rule once may still swap two), then as they all do."""
    for before, after in ((list(dict.fromkeys(stated)), list(dict.fromkeys(said))), (stated, said)):
        remaining = iter(before)
        for index, number in enumerate(after):
            if number not in remaining:  # after[0] is always found: no number is new
                order = "out of the original's order"
                return (
                    f"the compressed text states number {number} after {after[index - 1]}, {order}"
                )
    return None


def _times(count: int) -> str:
    return "1 time" if count == 1 else f"{count} times"


# A name, dotted or not (``config.max_items``); a trailing full stop is the sentence's.
_NAME = re.compile(r"(?<![\w.])[^\W\d]\w*(?:\.[^\W\d]\w*)*")
_CODE_SHAPE = re.compile(r"[^\W_]_|_[^\W_]|[a-z][A-Z]")


def names_problem(original: str, output: str) -> str | None:
    """Check that ``output`` names the same snake_case and camelCase names as ``original``.

    No prose word is spelled so; tools, parameters and fields are, and the compressor is
    not always told them (in ``prompt | compressor | model.bind_tools(...)`` it never is).
    They are checked, not masked, as numbers are: the model reads them in their sentence,
    and a rule restated with the same name may still be dropped.
    """
    return _difference("name", _code_names(original), _code_names(output))


def _difference(kind: str, before: set[str], after: set[str]) -> str | None:
    """The first ``kind`` (a number, a name) the rewrite lost or added, said; else None."""
    if lost := sorted(before - after):
        return f"{kind} {lost[0]} of the original is missing from the compressed text"
    if added := sorted(after - before):
        return f"{kind} {added[0]} in the compressed text is not in the original"
    return None


def _code_names(text: str) -> set[str]:
    return {name for name in _NAME.findall(text) if _CODE_SHAPE.search(name)}


def spans_problem(output: str, protected: Sequence[str]) -> str | None:
    """Check that every protected span occurs byte-identical and in order in ``output``."""
    position = 0
    for number, span in enumerate(protected, start=1):
        found = output.find(span, position)
        if found < 0:
            return f"protected span #{number} is not byte-identical in the compressed text"
        position = found + len(span)
    return None
