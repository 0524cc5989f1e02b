"""Few-shot example blocks inside a prompt's text.

Examples teach the output format by showing it; a compressor that "tidies" them changes the
format the model imitates. Prompts put examples anywhere a line starts, not only where a
paragraph does ("Classify it.\\nExample:\\nInput: ...\\nOutput: ..."), so detection works
on *segments*: paragraphs, cut again before every inner line that opens an example header
or a dialogue label. The prose lines before such a line stay free to compress. Three shapes
are recognised:

* a Markdown heading whose title starts with "Example(s)" (or "Few-shot examples"): the whole
  section up to the next heading of the same or a higher level;
* a line opening with ``Example:`` / ``Examples:`` / ``Example 2:`` (optionally bulleted or
  bold): that line and the lines after it up to the paragraph's end (with the following
  paragraph when the header stands alone as a paragraph), plus any labelled lines or
  paragraphs right after it;
* a run of lines opening with dialogue labels (``Q:``/``A:``, ``Input:``/``Output:``,
  ``Question:``/``Answer:``, ``Context:``, ``User:``/``Assistant:``, ``Human:``/``AI:``)
  that uses at least two different labels, as few-shot prompts do; one label alone
  ("Context: you work for a shop.") is ordinary prose.

A header is only one at the start of a line: "for example: ..." inside a sentence is prose.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_LABEL = re.compile(
    r"(?i)^[ \t]*(?:[-*>][ \t]*)?(?:\*\*)?"
    r"(?P<label>q|a|question|answer|input|output|context|user|assistant|human|ai|bot|response"
    r"|expected output|sample input|sample output)(?:[ \t]*\d+)?(?:\*\*)?[ \t]*:"
)
_COLON_HEADER = re.compile(
    r"(?i)^[ \t]*(?:[-*>][ \t]*)?(?:\*\*)?(?:few[- ]shot[ \t]+)?examples?(?:[ \t]*#?\d+)?"
    r"(?:\*\*)?[ \t]*:(?:\*\*)?(?P<rest>[^\n]*)"
)
_HEADING = re.compile(r"(?m)^(?P<hashes>#{1,6})[ \t]+(?P<title>[^\n]*)$")
_EXAMPLE_TITLE = re.compile(r"(?i)^(?:few[- ]shot[ \t]+)?examples?\b")
_PARAGRAPH = re.compile(r"(?:[^\n]*\S[^\n]*(?:\n|\Z))+")


@dataclass(frozen=True)
class _Segment:
    """A paragraph, or the part of one from an opener line to the next opener line."""

    start: int
    end: int
    text: str
    closes_paragraph: bool


def example_block_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of the few-shot example blocks of ``text`` (may overlap)."""
    spans = list(_example_sections(text))
    segments = _segments(text)
    index = 0
    while index < len(segments):
        end_index, is_block = _example_run_end(segments, index)
        if is_block:
            spans.append((segments[index].start, segments[end_index - 1].end))
        # A run that is no block holds none: every later start in it has fewer labels.
        index = max(end_index, index + 1)
    return spans


def _example_sections(text: str) -> Iterator[tuple[int, int]]:
    headings = list(_HEADING.finditer(text))
    for position, heading in enumerate(headings):
        if not _EXAMPLE_TITLE.match(heading["title"].strip()):
            continue
        level = len(heading["hashes"])
        following = (h for h in headings[position + 1 :] if len(h["hashes"]) <= level)
        end = next((h.start() for h in following), len(text))
        yield heading.start(), len(text[:end].rstrip())


def _segments(text: str) -> list[_Segment]:
    """Every paragraph of ``text``, cut before each inner line that opens a header or label."""
    found = []
    for paragraph in _PARAGRAPH.finditer(text):
        body = paragraph.group().rstrip("\r\n")
        cuts = _opener_offsets(body)
        for number, (cut, next_cut) in enumerate(zip(cuts, [*cuts[1:], len(body)], strict=True)):
            piece = body[cut:next_cut].rstrip("\r\n")
            start = paragraph.start() + cut
            last = number == len(cuts) - 1
            found.append(_Segment(start, start + len(piece), piece, last))
    return found


def _opener_offsets(paragraph: str) -> list[int]:
    """Offset 0 and the offset of each later line that opens an example header or a label."""
    offsets = [0]
    position = 0
    for line in paragraph.splitlines(keepends=True):
        if position and _opens_example(line):
            offsets.append(position)
        position += len(line)
    return offsets


def _opens_example(line: str) -> bool:
    return bool(_COLON_HEADER.match(line) or _LABEL.match(line))


def _example_run_end(segments: list[_Segment], index: int) -> tuple[int, bool]:
    """Index just after the header and label run starting at ``segments[index]``, and
    whether that run is an example block (a header, or two labels or more)."""
    header = _COLON_HEADER.match(segments[index].text)
    cursor = index + 1 if header else index
    if header and _is_bare_header(segments[index], header) and cursor < len(segments):
        cursor += 1
    labels: set[str] = set()
    while cursor < len(segments) and (label := _LABEL.match(segments[cursor].text)):
        labels.add(label["label"].lower())
        cursor += 1
    return cursor, bool(header) or len(labels) >= 2


def _is_bare_header(segment: _Segment, header: re.Match[str]) -> bool:
    """A header alone as a paragraph ("Example:" then a blank line) owns the next paragraph.

    A bare header followed by lines of its own paragraph already owns those lines; one
    followed by a labelled line gets it (and the run after it) through the label run.
    """
    alone = "\n" not in segment.text.strip()
    return not header["rest"].strip() and alone and segment.closes_paragraph
