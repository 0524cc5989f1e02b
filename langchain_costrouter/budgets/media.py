"""Input tokens of a prompt's images, audio and files, which a reservation must hold.

``message.text`` (what `langchain_costrouter.tokens.count_messages` counts) leaves out
every non-text content block, so an image-heavy call reserved the price of its words
alone: at gpt-4o's rule a 2048 x 768 image is 1,445 input tokens (48,169 on
gpt-4o-mini), and concurrent calls passed a limit by that much each. Each block is
counted here by its provider's documented rule, by model family:

- OpenAI, tiles (gpt-4o, gpt-4.1, gpt-5, o1, o3): fit in 2048 x 2048, shortest side to
  768, then base + per-tile tokens per 512-pixel tile (base only at ``detail="low"``);
- OpenAI, patches (gpt-4.1-mini/nano, gpt-5-mini/nano, o4-mini): 32-pixel patches, at
  most 1,536, times the model's multiplier;
- Anthropic (claude): width x height / 750 after the long edge is fit in 1,568 pixels,
  at most 1,600;
- Google (gemini): 258 tokens for an image within 384 x 384, else 258 per 768-pixel tile.

An image whose size is not in the call (a URL, a file id) counts as its family's
largest: 8 tiles, 1,536 patches, 1,600, or `GEMINI_UNKNOWN_TILES` tiles; a model of no
known family takes the largest figure of every rule. Audio counts its duration (a WAV
header's, else its bytes at `MIN_AUDIO_BYTES_PER_SECOND`, else `UNKNOWN_AUDIO_SECONDS`)
at OpenAI's 10 tokens a second or Gemini's 32 (32 for others), as audio tokens (priced
at the model's audio rate when it has one); a file counts its bytes (a token is at
least a byte), a PDF `PDF_PAGE_TOKENS` a page, one by reference `UNKNOWN_FILE_TOKENS`.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from langchain_core.messages import BaseMessage

from langchain_costrouter.budgets.image_sizes import image_bytes, image_size

GEMINI_UNKNOWN_TILES = 16
"""Tiles assumed for a Gemini image of unknown size (one of up to 3072 x 3072)."""
MIN_AUDIO_BYTES_PER_SECOND = 1000
"""8 kbit/s, below any speech codec's rate: bytes / this bounds an audio clip's length."""
UNKNOWN_AUDIO_SECONDS = 600
"""Seconds assumed for audio sent by reference (no bytes to bound it with)."""
PDF_PAGE_TOKENS = 4600
"""Per PDF page: Anthropic's 3,000 text tokens at most, plus the page as an image."""
UNKNOWN_FILE_PAGES = 100
UNKNOWN_FILE_TOKENS = UNKNOWN_FILE_PAGES * PDF_PAGE_TOKENS
"""A file sent by reference (a URL, a file id): a 100-page PDF."""


class MediaTokens(NamedTuple):
    """Input tokens of a prompt's non-text blocks: ``audio`` ones, and the ``other`` ones."""

    other: int = 0
    audio: int = 0

    @property
    def total(self) -> int:
        return self.other + self.audio


NO_MEDIA = MediaTokens()


@dataclass(frozen=True, slots=True)
class _ImageRule:
    """One family's image rule: ``kind`` is ``tiles``, ``patches``, ``area`` or ``gemini``."""

    kind: str
    base: int = 0
    per_unit: float = 0.0
    audio_per_second: int = 32


_OPENAI_AUDIO = 10  # "1 token per 100 ms" of user audio
# Longest prefix first: "gpt-4o-mini" before "gpt-4o", "gpt-5-mini" before "gpt-5".
_OPENAI_RULES: tuple[tuple[str, _ImageRule], ...] = (
    ("gpt-4.1-mini", _ImageRule("patches", per_unit=1.62, audio_per_second=_OPENAI_AUDIO)),
    ("gpt-4.1-nano", _ImageRule("patches", per_unit=2.46, audio_per_second=_OPENAI_AUDIO)),
    ("gpt-5-mini", _ImageRule("patches", per_unit=1.62, audio_per_second=_OPENAI_AUDIO)),
    ("gpt-5-nano", _ImageRule("patches", per_unit=2.46, audio_per_second=_OPENAI_AUDIO)),
    ("o4-mini", _ImageRule("patches", per_unit=1.72, audio_per_second=_OPENAI_AUDIO)),
    ("gpt-4o-mini", _ImageRule("tiles", 2833, 5667, _OPENAI_AUDIO)),
    ("computer-use", _ImageRule("tiles", 65, 129, _OPENAI_AUDIO)),
    ("gpt-5", _ImageRule("tiles", 70, 140, _OPENAI_AUDIO)),
    ("o1", _ImageRule("tiles", 75, 150, _OPENAI_AUDIO)),
    ("o3", _ImageRule("tiles", 75, 150, _OPENAI_AUDIO)),
)
_OPENAI_DEFAULT = _ImageRule("tiles", 85, 170, _OPENAI_AUDIO)  # gpt-4o, gpt-4.1, gpt-4.5
_ANTHROPIC = _ImageRule("area")
_GEMINI = _ImageRule("gemini")
_OPENAI_MODEL = re.compile(r"^(gpt-|o\d|chatgpt|computer-use)")


def media_tokens(messages: Sequence[BaseMessage], model: str, provider: str) -> MediaTokens:
    """Input tokens of the images, audio and files in ``messages`` on ``model``."""
    other = audio = 0
    rules: tuple[_ImageRule, ...] | None = None
    for block in _media_blocks(messages):
        rules = rules or _rules(model, provider)
        kind = str(block.get("type"))
        if "audio" in kind:
            seconds = _audio_seconds(block)
            audio += max(math.ceil(seconds * rule.audio_per_second) for rule in rules)
        elif kind in ("file", "document") or _mime(block).startswith(("application/", "text/")):
            other += _file_tokens(block)
        else:
            size, detail = _image_size(block), _detail(block)
            other += max(_image_tokens(rule, size, detail) for rule in rules)
    return MediaTokens(other, audio) if rules else NO_MEDIA


def _media_blocks(messages: Sequence[BaseMessage]) -> Iterator[Mapping[str, Any]]:
    for message in messages:
        if isinstance(message.content, str):
            continue
        for block in message.content:
            if isinstance(block, Mapping) and block.get("type") not in _NOT_MEDIA:
                yield block


_NOT_MEDIA = frozenset({"text", "tool_use", "tool_call", "reasoning", "thinking", None})


def _rules(model: str, provider: str) -> tuple[_ImageRule, ...]:
    """The family's rule, or every family's when the model is of none known."""
    name = model.lower().rsplit("/", 1)[-1]
    if _OPENAI_MODEL.match(name) or provider.lower() in ("openai", "azure", "azure_openai"):
        return (next((r for p, r in _OPENAI_RULES if name.startswith(p)), _OPENAI_DEFAULT),)
    if "claude" in name or provider.lower() == "anthropic":
        return (_ANTHROPIC,)
    if "gemini" in name or provider.lower() in ("google", "google_genai", "google_vertexai"):
        return (_GEMINI,)
    return (_OPENAI_DEFAULT, _ANTHROPIC, _GEMINI, _OPENAI_RULES[0][1])


def _image_tokens(rule: _ImageRule, size: tuple[int, int] | None, detail: str) -> int:
    if rule.kind == "tiles":
        return rule.base + (0 if detail == "low" else int(rule.per_unit) * _openai_tiles(size))
    if rule.kind == "patches":
        patches = 1536 if size is None else math.ceil(size[0] / 32) * math.ceil(size[1] / 32)
        return math.ceil(min(patches, 1536) * rule.per_unit)
    if rule.kind == "area":
        if size is None:
            return 1600
        width, height = _fit(size, 1568)
        return min(math.ceil(width * height / 750), 1600)
    if size is not None and size[0] <= 384 and size[1] <= 384:
        return 258
    tiles = GEMINI_UNKNOWN_TILES if size is None else _tiles(size, 768)
    return 258 * tiles


def _openai_tiles(size: tuple[int, int] | None) -> int:
    """512-pixel tiles after the image is fit in 2048 x 2048 and its short side in 768."""
    if size is None:
        return 8  # the most: 768 x 2048
    width, height = _fit(size, 2048)
    if min(width, height) > 768:
        scale = 768 / min(width, height)
        width, height = width * scale, height * scale
    return _tiles((width, height), 512)


def _fit(size: tuple[float, float], longest: int) -> tuple[float, float]:
    scale = min(1.0, longest / max(size))
    return size[0] * scale, size[1] * scale


def _tiles(size: tuple[float, float], tile: int) -> int:
    return math.ceil(size[0] / tile) * math.ceil(size[1] / tile)


def _payload(block: Mapping[str, Any]) -> Any:
    """The block's inline data or URL, in any of LangChain's and the providers' shapes."""
    for key in ("image_url", "input_audio", "file", "source"):
        inner = block.get(key)
        if isinstance(inner, Mapping):
            for field in ("url", "data", "file_data"):
                if inner.get(field):
                    return inner[field]
        elif isinstance(inner, str):
            return inner
    for key in ("base64", "data", "url"):
        if block.get(key):
            return block[key]
    return None


def _image_size(block: Mapping[str, Any]) -> tuple[int, int] | None:
    payload = _payload(block)
    if not isinstance(payload, str | bytes | bytearray):
        return None
    head = image_bytes(payload)
    return None if head is None else image_size(head)


def _detail(block: Mapping[str, Any]) -> str:
    inner = block.get("image_url")
    detail = inner.get("detail") if isinstance(inner, Mapping) else block.get("detail")
    return str(detail or "auto")


def _mime(block: Mapping[str, Any]) -> str:
    return str(block.get("mime_type") or block.get("media_type") or "")


def _size_in_bytes(payload: Any) -> int | None:
    """Bytes of inline data (base64 or a data URL), None for a reference."""
    if isinstance(payload, bytes | bytearray):
        return len(payload)
    if not isinstance(payload, str) or payload.startswith(("http://", "https://", "gs://")):
        return None
    if payload.startswith("data:"):
        payload = payload.partition(",")[2]
    return len(payload) * 3 // 4


def _audio_seconds(block: Mapping[str, Any]) -> float:
    payload = _payload(block)
    size = _size_in_bytes(payload)
    if size is None:
        return UNKNOWN_AUDIO_SECONDS
    head = image_bytes(payload)  # the first bytes, whatever the medium
    if head and head[:4] == b"RIFF" and head[8:12] == b"WAVE" and len(head) >= 32:
        byte_rate = int.from_bytes(head[28:32], "little")
        if byte_rate > 0:
            return size / byte_rate
    return size / MIN_AUDIO_BYTES_PER_SECOND


def _file_tokens(block: Mapping[str, Any]) -> int:
    payload = _payload(block)
    size = _size_in_bytes(payload)
    if size is None:
        return UNKNOWN_FILE_TOKENS
    if _mime(block) == "application/pdf" or _looks_like_pdf(payload):
        return _pdf_pages(payload) * PDF_PAGE_TOKENS
    return size


def _looks_like_pdf(payload: Any) -> bool:
    head = image_bytes(payload)
    return bool(head and head.startswith(b"%PDF"))


def _pdf_pages(payload: Any) -> int:
    """Page objects in the whole PDF (its bytes decoded in full: a page can be anywhere);
    a PDF whose pages are all in compressed object streams shows none: it counts as a
    file by reference."""
    if isinstance(payload, str):
        data = payload.partition(",")[2] if payload.startswith("data:") else payload
        try:
            raw = base64.b64decode(data)
        except (binascii.Error, ValueError):
            raw = b""
    else:
        raw = bytes(payload)
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", raw)) or UNKNOWN_FILE_PAGES
