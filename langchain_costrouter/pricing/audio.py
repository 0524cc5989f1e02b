"""Audio rates of models whose genai-prices entry lists their text rates only.

OpenAI bills the audio tokens of its chat audio models at rates of their own, 16 times
the text rates and more: gpt-4o-audio-preview $40 per million audio tokens in and $80
out against $2.50 and $10 for text, gpt-4o-mini-audio-preview $10 and $20 against $0.15
and $0.60 (OpenAI's model pages, developers.openai.com/api/docs/models/<model>, read
2026). The genai-prices snapshot bundled with the package (0.2.5) lists only the text
rates for both, on the note that audio input costs what text does, so a call's audio
was billed at the text rates: 8 times under on a call of 600 audio tokens in 1000 and
150 in 200 out. These rates fill that gap; a rate genai-prices lists wins over them.

Keyed by the exact model ids (the alias and the snapshots these rates apply to), not by
genai-prices' prefix match: the October 2024 snapshot, gpt-4o-audio-preview-2024-10-01,
billed its audio at other rates and has none here, so its audio tokens are an unknown
price (pricing/table.py) rather than a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

_GPT_4O_AUDIO = {"input_audio": Decimal(40), "output_audio": Decimal(80)}
_GPT_4O_MINI_AUDIO = {"input_audio": Decimal(10), "output_audio": Decimal(20)}

AUDIO_PER_MTOK: Mapping[str, Mapping[str, Decimal]] = MappingProxyType(
    {
        "gpt-4o-audio-preview": _GPT_4O_AUDIO,
        "gpt-4o-audio-preview-2024-12-17": _GPT_4O_AUDIO,
        "gpt-4o-audio-preview-2025-06-03": _GPT_4O_AUDIO,
        "gpt-4o-mini-audio-preview": _GPT_4O_MINI_AUDIO,
        "gpt-4o-mini-audio-preview-2024-12-17": _GPT_4O_MINI_AUDIO,
    }
)
"""Dollars per million audio tokens (``input_audio``, ``output_audio``) by model id."""

_NONE: Mapping[str, Decimal] = MappingProxyType({})


def audio_rates(model: str) -> Mapping[str, Decimal]:
    """The audio rates per million tokens listed here for ``model`` (empty: none)."""
    return AUDIO_PER_MTOK.get(model, _NONE)
