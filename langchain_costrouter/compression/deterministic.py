"""The free strategy: rule-based shrinking of masked prose, identical output for identical input.

It runs on text whose protected spans are already placeholders, so none of its rules can
touch code, data, examples or quoted text. Rules, in order: collapse runs of spaces and
blank lines, drop filler phrases where they open a sentence or clause (or swap wordy ones
for their short form anywhere), drop a paragraph seen before (however it was wrapped; a
numbered list said again word for word too), drop a sentence of four or more words seen in
an earlier paragraph. Leading and trailing whitespace of the whole text is kept, because
string prompts are often concatenated with what follows.

Each rule stops where dropping would change what the prompt says: a filler word inside a
sentence may be what it is about ("never say please"), and a sentence repeated within its
paragraph, or as a numbered item, is a step done again ("Press the button. Wait. Press
the button."), not a rule said twice.
"""

from __future__ import annotations

import re

_SPACES = re.compile(r"(?<=\S)[ \t]{2,}")
_TRAILING_SPACES = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_LINES = re.compile(r"\n{3,}")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[ ]+(?=\S)")
# A list marker ("- ", "* ", "2. ", "3) "), never a number that is part of the sentence.
_BULLET = re.compile(r"^(?:\s*(?:[-*\u2022]|\d+[.)])\s+)+")
_NUMBERED = re.compile(r"^[ \t]*\d+[.)]\s")
# Where a sentence or clause opens: the text's start, a line's, a list marker's end, or
# after sentence or clause punctuation (before it, spaces only).
_CLAUSE_START = re.compile(r"(?:\A|[\n.!?:;,(]|(?:\A|\n)[ \t]*(?:[-*\u2022]|\d+[.)]))[ \t]*\Z")
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
        said: set[str] = set()
        lines: list[str] = []
        for line in paragraph.split("\n"):
            sentences = split_sentences(line)
            if _NUMBERED.match(line):
                sentences = [line]
            kept = [sentence for sentence in sentences if _is_new(sentence, seen, said)]
            if kept or not line.strip():
                lines.append(" ".join(kept) if len(sentences) > 1 else line)
        seen |= said
        paragraphs.append("\n".join(lines))
    return "\n\n".join(paragraphs)


def split_sentences(line: str) -> list[str]:
    """The sentences of one line, split where the rules split them (after . ! or ?)."""
    return _SENTENCE_BREAK.split(line)


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


def _is_new(sentence: str, seen: set[str], said: set[str]) -> bool:
    """Whether ``sentence`` was not said in an earlier paragraph (``seen``); it joins the
    sentences its own paragraph said (``said``)."""
    key = _key(sentence)
    if len(key.split()) < _MIN_SENTENCE_WORDS:
        return True
    said.add(key)
    return key not in seen or _NUMBERED.match(sentence) is not None
