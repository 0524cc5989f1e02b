"""The free strategy: rule-based shrinking of masked prose, identical output for identical input.

It runs on text whose protected spans are already placeholders, so none of its rules can
touch code, data, examples or quoted text. Rules, in order: collapse runs of spaces and
blank lines, drop filler phrases where they open a sentence or clause (or swap wordy ones
for their short form anywhere), drop a paragraph seen before (however it was wrapped; a
numbered list said again word for word too), drop a sentence of four or more words seen in
an earlier paragraph. A sentence is read across the soft wraps of its paragraph: a line
opens a sentence only after one ended, or where it opens a list item, a heading (and
after one), a quoted block or a code fence, so a wrapped sentence's second line is never
taken for a sentence of its own ("Please" and " ship within 2 days." on two lines are one
sentence). Leading and trailing whitespace of the whole text is kept, because string
prompts are often concatenated with what follows.

Each rule stops where dropping would change what the prompt says: a filler word inside a
sentence may be what it is about ("never say please"), and a sentence repeated within its
paragraph, or as a numbered item, is a step done again ("Press the button. Wait. Press
the button."), not a rule said twice: it stays, even when an earlier paragraph said it too.
"""

from __future__ import annotations

import re
from collections import Counter

_SPACES = re.compile(r"(?<=\S)[ \t]{2,}")
_TRAILING_SPACES = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_LINES = re.compile(r"\n{3,}")
# A sentence ends at . ! or ? and the spaces, or the line break, after it.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])(?:[ \t]*\n[ \t]*|[ \t]+)(?=\S)")
# A line that opens a block of its own, not a wrapped sentence's next line: a list item,
# a heading, a quoted block, a code fence (the line after a heading opens one too).
_BLOCK_START = re.compile(r"[ \t]*(?:(?:[-*\u2022]|\d+[.)]|#{1,6})(?=\s|\Z)|>|```|~~~)")
_HEADING = re.compile(r"[ \t]*#{1,6}(?=\s|\Z)")
# A list marker ("- ", "* ", "2. ", "3) "), never a number that is part of the sentence.
_BULLET = re.compile(r"^(?:\s*(?:[-*\u2022]|\d+[.)])\s+)+")
_NUMBERED = re.compile(r"[ \t]*\d+[.)]\s")
# Where a sentence or clause opens: the text's or a paragraph's start, a list marker's,
# heading marker's or quote marker's end, the line after a heading, or after sentence or
# clause punctuation (before it, spaces or one line break); not a soft-wrapped line.
_CLAUSE_START = re.compile(
    r"(?:\A|\n\n|[.!?:;,(][ \t]*\n?|(?:\A|\n)[ \t]*(?:[-*\u2022]|\d+[.)]|#{1,6}|>)"
    r"|(?:\A|\n)[ \t]*#{1,6}[ \t][^\n]*\n)[ \t]*\Z"
)
_MIN_SENTENCE_WORDS = 4
_WORD = re.compile(r"\w+")

# (phrase, replacement); matched case-insensitively on word boundaries.
_BOILERPLATE: tuple[tuple[str, str], ...] = (
    ("it is important to note that ", ""),
    ("it's important to note that ", ""),
    ("it is important to remember that ", ""),
    ("it is worth noting that ", ""),
    ("it should be noted that ", ""),
    ("please note that ", ""),
    ("please keep in mind that ", ""),
    ("keep in mind that ", ""),
    ("bear in mind that ", ""),
    ("as previously mentioned, ", ""),
    ("as mentioned above, ", ""),
    ("needless to say, ", ""),
    ("basically, ", ""),
    ("i would like you to ", ""),
    ("i want you to ", ""),
    ("please make sure to ", ""),
    ("please make sure that ", "ensure "),
    ("make sure to ", ""),
    ("please ", ""),
    ("in order to ", "to "),
    ("due to the fact that ", "because "),
    ("at this point in time", "now"),
    ("for the purpose of ", "for "),
    ("in the event that ", "if "),
    ("a large number of ", "many "),
    ("the vast majority of ", "most "),
    ("is able to ", "can "),
    ("are able to ", "can "),
    ("has the ability to ", "can "),
    ("with regard to ", "about "),
    ("with regards to ", "about "),
    ("prior to ", "before "),
    ("each and every ", "every "),
    ("first and foremost, ", "first, "),
)
_BOILERPLATE_PATTERN = re.compile(
    "(?P<phrase>" + "|".join(rf"\b{re.escape(phrase)}" for phrase, _ in _BOILERPLATE) + ")"
    r"(?P<next>[a-z]?)",
    re.IGNORECASE,
)
_REPLACEMENTS = dict(_BOILERPLATE)


def compress_deterministic(text: str) -> str:
    """Shrink masked prose with the free rules; keeps the text's outer whitespace."""
    core = text.strip()
    if not core:
        return text
    head, tail = text[: text.index(core)], text[text.index(core) + len(core) :]
    core = _normalised(core)
    core = _drop_repeated_sentences(_drop_repeated_paragraphs(core))
    return head + _BLANK_LINES.sub("\n\n", core).strip() + tail


def _normalised(text: str) -> str:
    """Whitespace collapsed, then filler shortened: what the dropping rules compare."""
    return _BOILERPLATE_PATTERN.sub(_shorten, _collapse_whitespace(text))


def _collapse_whitespace(text: str) -> str:
    text = _SPACES.sub(" ", text)
    text = _TRAILING_SPACES.sub("", text)
    return _BLANK_LINES.sub("\n\n", text)


def _shorten(match: re.Match[str]) -> str:
    """Replace a filler phrase, moving a sentence-opening capital to the next word; a
    phrase that is only dropped is dropped only where it opens a sentence or clause."""
    phrase, following = match["phrase"], match["next"]
    short = _REPLACEMENTS[phrase.lower()]
    if not short and not _CLAUSE_START.search(match.string, 0, match.start()):
        return match.group()
    replacement = short + following
    if phrase[0].isupper() and (short or _plain_word(match.string, match.start("next"))):
        return replacement[:1].upper() + replacement[1:]
    return replacement


def _plain_word(text: str, start: int) -> bool:
    """Whether the word at ``start`` is a lowercase word a capital may open: not a name
    or a variable ("iPhone", "eBay_id", "x"), which a capital would rename."""
    word = _WORD.match(text, start)
    found = word.group() if word else ""
    return found.isalpha() and found.islower() and (len(found) > 1 or found in "ai")


def _drop_repeated_paragraphs(text: str) -> str:
    seen: set[str] = set()
    kept: list[str] = []
    for paragraph in text.split("\n\n"):
        key = _flat(paragraph)
        if key and key in seen:
            continue
        seen.add(key)
        kept.append(paragraph)
    return "\n\n".join(kept)


def _drop_repeated_sentences(text: str) -> str:
    """Drop each sentence said in an earlier paragraph; a paragraph's own repeats and
    numbered items stay (see the module docstring)."""
    seen: set[str] = set()
    paragraphs = []
    for paragraph in text.split("\n\n"):
        sentences = sentence_spans(paragraph)
        keys = [repeat_key(paragraph[start:end], normalised=True) for start, end, _ in sentences]
        counts = Counter(keys)
        kept = [
            numbered or key is None or key not in seen or counts[key] > 1
            for (_, _, numbered), key in zip(sentences, keys, strict=True)
        ]
        seen.update(key for key in keys if key is not None)
        paragraphs.append(_joined(paragraph, sentences, kept))
    return "\n\n".join(paragraphs)


def _joined(paragraph: str, sentences: list[tuple[int, int, bool]], kept: list[bool]) -> str:
    """The kept sentences of ``paragraph``, each after the gap that came before it; where
    sentences between two kept ones went, the first line break among the gaps, so the
    lines that stay keep their breaks."""
    parts: list[str] = []
    gaps: list[str] = []
    previous_end = 0
    for (start, end, _), keep in zip(sentences, kept, strict=True):
        gaps.append(paragraph[previous_end:start])
        previous_end = end
        if keep:
            if parts:
                parts.append(next((gap for gap in gaps if "\n" in gap), gaps[-1]))
            parts.append(paragraph[start:end])
            gaps = []
    return "".join(parts)


def sentence_spans(paragraph: str) -> list[tuple[int, int, bool]]:
    """Where each sentence of ``paragraph`` lies, as the rules read it, and whether it is
    a numbered item (one unit, however many sentences: a step). A sentence runs across
    soft wraps; a block (list item, heading, quoted block, code fence) opens a new one."""
    sentences: list[tuple[int, int, bool]] = []
    for start, end in _blocks(paragraph):
        if _NUMBERED.match(paragraph, start):
            sentences.append((start, end, True))
            continue
        for gap in _SENTENCE_BREAK.finditer(paragraph, start, end):
            sentences.append((start, gap.start(), False))
            start = gap.end()
        sentences.append((start, end, False))
    return sentences


def _blocks(paragraph: str) -> list[tuple[int, int]]:
    """The blocks of ``paragraph``: runs of lines, each opened by a line that starts a
    block (`_BLOCK_START`) or follows a heading; a block ends before its last line break."""
    starts: list[int] = []
    after_heading = True
    for line in re.finditer(r"[^\n]+", paragraph):
        if after_heading or _BLOCK_START.match(paragraph, line.start()):
            starts.append(line.start())
        after_heading = _HEADING.match(line.group()) is not None
    starts = starts or [0]
    ends = [start - 1 for start in starts[1:]] + [len(paragraph.rstrip("\n"))]
    return list(zip(starts, ends, strict=True))


def repeat_key(sentence: str, *, normalised: bool = False) -> str | None:
    """What the rules tell a sentence said before by (`sentence_key`), or None for one
    of under four words, which they never drop (a short step: "Wait.")."""
    key = _key(sentence) if normalised else sentence_key(sentence)
    return key if len(key.split()) >= _MIN_SENTENCE_WORDS else None


def sentence_key(sentence: str) -> str:
    """What the rules tell a repeated sentence by, whitespace collapsed and filler
    shortened first as they do, so a check of another rewrite (masking.numbers_problem)
    knows what they may drop."""
    return _key(_normalised(sentence))


def paragraph_key(paragraph: str) -> str:
    """What the rules tell a repeated paragraph by, as `sentence_key` a sentence: its
    words whatever their case or wrapping, so a check knows the paragraphs they may drop
    whole, a numbered list said again word for word among them."""
    return _flat(_normalised(paragraph))


def _key(sentence: str) -> str:
    """A sentence without its list marker, case, spacing or closing punctuation."""
    return _flat(_BULLET.sub("", sentence).rstrip(".!? "))


def _flat(text: str) -> str:
    return " ".join(text.lower().split())
