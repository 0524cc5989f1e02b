"""Which sentences and paragraphs of a text repeat earlier ones, as the free rules tell
them (compression/deterministic.py), and whether a rewrite's items (numbers, names) are
the text's with only such repeats dropped: the machinery of masking.numbers_problem and
masking.names_problem, which must accept whatever the free rules drop.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence

from langchain_costrouter.compression.deterministic import (
    paragraph_key,
    repeat_key,
    sentence_spans,
)

# A list number ("2. ", "3) "), which a rewrite may renumber.
LIST_NUMBER = re.compile(r"(?m)^[ \t]*\d+[.)](?=\s)")
Reader = Callable[[str], list[str]]
_Sentence = tuple[tuple[str, ...], bool]  # its items; whether it repeats an earlier one
_Paragraph = tuple[bool, list[_Sentence]]  # whether it repeats an earlier one; its sentences
_Key = tuple[str, tuple[str, ...]]  # a sentence's key as the rules tell it; its items


def paragraph_items(text: str, read: Reader) -> Iterator[_Paragraph]:
    """Each paragraph's sentences (`_sentence_items`) and whether the paragraph repeats
    an earlier one as the free rules tell it (deterministic.paragraph_key: however it is
    wrapped, a numbered list too), so a rewrite may drop it whole. The rules' keys ignore
    case, which a name does not ("MaxItems" is another field than "maxItems"), so a
    repeat also states the same items."""
    seen: set[tuple[str, tuple[str, ...]]] = set()
    said: set[_Key] = set()
    for lines in _paragraphs(text):
        sentences = list(_sentence_items("".join(lines), read, said))
        items = tuple(item for sentence_items, _ in sentences for item in sentence_items)
        key = (paragraph_key("".join(lines)), items)
        yield key in seen, sentences
        seen.add(key)


def _paragraphs(text: str) -> Iterator[list[str]]:
    """The paragraphs of ``text`` as the free rules split it (at lines empty or of spaces),
    each as its lines; every line but the text's last keeps its line break, so a list
    number closing a line is read as masking._numbers reads it in the whole text."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    paragraph: list[str] = []
    for line in lines:
        if line.strip(" \t\n"):
            paragraph.append(line)
        elif paragraph:
            yield paragraph
            paragraph = []
    if paragraph:
        yield paragraph


def _sentence_items(paragraph: str, read: Reader, said: set[_Key]) -> Iterator[_Sentence]:
    """Each sentence's items (``read`` on it) and whether the free rules may drop it as
    said in an earlier paragraph (``said``, which this paragraph's sentences then join):
    read across soft wraps as they read it (deterministic.sentence_spans), of four words
    or more, said once in its paragraph and not numbered, else a step done again."""
    sentences = sentence_spans(paragraph)
    keys = [repeat_key(paragraph[start:end]) for start, end, _ in sentences]
    counts = Counter(keys)
    new: set[_Key] = set()
    for (start, end, numbered), key in zip(sentences, keys, strict=True):
        number = LIST_NUMBER.match(paragraph, start) if numbered else None
        items = tuple(read(paragraph[number.end() if number else start : end]))
        if key is not None:
            new.add((key, items))
        if items:
            yield items, not numbered and counts[key] == 1 and (key, items) in said
    said |= new


def follows(said: Sequence[str], paragraphs: Iterable[_Paragraph]) -> bool:
    """Whether ``said`` is every sentence's items in order, a repeated sentence's or
    paragraph's or not.

    Bit p of ``reachable`` says the sentences so far can state exactly ``said[:p]``; one
    big-integer mask per item keeps it linear in the items, whatever the repeats.
    """
    at: dict[str, int] = {}
    for position, item in enumerate(said):
        at[item] = at.get(item, 0) | 1 << position
    reachable = 1
    for repeated_paragraph, sentences in paragraphs:
        before = reachable
        for items, repeated in sentences:
            starts = reachable
            for offset, item in enumerate(items):
                starts &= at.get(item, 0) >> offset
            stated = starts << len(items)
            reachable = reachable | stated if repeated else stated
        if repeated_paragraph:
            reachable |= before
    return bool(reachable >> len(said) & 1)
