"""Few-shot example blocks inside a prompt's text.

Examples teach the output format by showing it; a compressor that "tidies" them changes the
format the model imitates. Three shapes are recognised:

* a Markdown heading whose title starts with "Example(s)" (or "Few-shot examples"): the whole
  section up to the next heading of the same or a higher level;
* a paragraph opening with ``Example:`` / ``Example 2:`` (with the following paragraph when the
  header stands alone on its line), plus any labelled paragraphs right after it;
* a run of paragraphs opening with dialogue labels (``Q:``/``A:``, ``Input:``/``Output:``,
  ``Question:``/``Answer:``, ``Context:``, ``User:``/``Assistant:``, ``Human:``/``AI:``)
  that uses at least two different labels, as few-shot prompts do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_LABEL = re.compile(
    r"(?im)^[ \t]*(?:[-*>][ \t]*)?(?:\*\*)?"
    r"(?P<label>q|a|question|answer|input|output|context|user|assistant|human|ai|bot|response"
    r"|expected output|sample input|sample output)(?:[ \t]*\d+)?(?:\*\*)?[ \t]*:"
)
_COLON_HEADER = re.compile(
    r"(?i)^[ \t]*(?:\*\*)?(?:few[- ]shot[ \t]+)?examples?(?:[ \t]*\d+)?(?:\*\*)?[ \t]*:(?:\*\*)?"
    r"(?P<rest>[^\n]*)"
)
_HEADING = re.compile(r"(?m)^(?P<hashes>#{1,6})[ \t]+(?P<title>[^\n]*)$")
_EXAMPLE_TITLE = re.compile(r"(?i)^(?:few[- ]shot[ \t]+)?examples?\b")
_PARAGRAPH = re.compile(r"(?:[^\n]*\S[^\n]*(?:\n|\Z))+")


@dataclass(frozen=True)
class _Paragraph:
    start: int
    end: int
    text: str


def example_block_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of the few-shot example blocks of ``text`` (may overlap)."""
    spans = list(_example_sections(text))
    paragraphs = _paragraphs(text)
    index = 0
    while index < len(paragraphs):
        end_index = _example_run_end(paragraphs, index)
        if end_index > index:
            spans.append((paragraphs[index].start, paragraphs[end_index - 1].end))
            index = end_index
        else:
            index += 1
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


def _paragraphs(text: str) -> list[_Paragraph]:
    found = []
    for match in _PARAGRAPH.finditer(text):
        body = match.group().rstrip("\r\n")
        found.append(_Paragraph(match.start(), match.start() + len(body), body))
    return found


def _example_run_end(paragraphs: list[_Paragraph], index: int) -> int:
    """Index just after the example block starting at ``paragraphs[index]`` (``index`` if none)."""
    header = _COLON_HEADER.match(paragraphs[index].text)
    cursor = index + 1 if header else index
    if header and _is_bare_header(paragraphs[index].text, header) and cursor < len(paragraphs):
        cursor += 1
    labels: set[str] = set()
    while cursor < len(paragraphs) and _LABEL.match(paragraphs[cursor].text):
        labels |= {match["label"].lower() for match in _LABEL.finditer(paragraphs[cursor].text)}
        cursor += 1
    if header or len(labels) >= 2:
        return cursor
    return index


def _is_bare_header(paragraph: str, header: re.Match[str]) -> bool:
    return not header["rest"].strip() and "\n" not in paragraph.strip()
