"""A prompt's images, audio and files, counted by their provider's documented rules."""

from __future__ import annotations

import base64
import struct
import zlib
from decimal import Decimal
from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from langchain_costrouter.budgets import WorstCase
from langchain_costrouter.budgets.image_sizes import image_bytes, image_size
from langchain_costrouter.budgets.media import (
    PDF_PAGE_TOKENS,
    UNKNOWN_AUDIO_SECONDS,
    UNKNOWN_FILE_TOKENS,
    MediaTokens,
    media_tokens,
)
from langchain_costrouter.pricing import PriceTable
from langchain_costrouter.routes import Deployment


def png(width: int, height: int) -> bytes:
    chunk = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + chunk + struct.pack(">I", zlib.crc32(chunk))
    )


def jpeg(width: int, height: int) -> bytes:
    exif = b"\xff\xe1" + struct.pack(">H", 18) + b"Exif\x00\x00" + b"\x00" * 10
    frame = b"\xff\xc2" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + exif + frame + b"\xff\xd9"


def gif(width: int, height: int) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00" * 8


def webp(width: int, height: int) -> bytes:
    vp8x = b"VP8X" + struct.pack("<I", 10) + b"\x00" * 4
    return (
        b"RIFF\x00\x00\x00\x00WEBP"
        + vp8x
        + (width - 1).to_bytes(3, "little")
        + (height - 1).to_bytes(3, "little")
    )


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def image(url: str, detail: str | None = None) -> HumanMessage:
    inner = {"url": url} | ({"detail": detail} if detail else {})
    return HumanMessage(
        content=[{"type": "text", "text": "see"}, {"type": "image_url", "image_url": inner}]
    )


@pytest.mark.parametrize("encode", [png, jpeg, gif, webp])
def test_image_sizes_are_read_from_headers(encode: Any) -> None:
    head = image_bytes(data_url(encode(1234, 567)))
    assert head is not None
    assert image_size(head) == (1234, 567)


def test_an_http_url_or_garbage_has_no_size() -> None:
    assert image_bytes("https://example.com/cat.png") is None
    assert image_size(b"not an image") is None


@pytest.mark.parametrize(
    ("size", "detail", "tokens"),
    [
        ((1024, 1024), None, 765),  # OpenAI's worked example: 4 tiles
        ((2048, 4096), "high", 1105),  # fit to 1024 x 2048, then 768 x 1536: 6 tiles
        ((4096, 8192), "low", 85),  # low detail: the base alone, whatever the size
        ((300, 200), "auto", 255),  # one tile
    ],
)
def test_openai_tile_rule(size: tuple[int, int], detail: str | None, tokens: int) -> None:
    message = image(data_url(png(*size)), detail)
    assert media_tokens([message], "gpt-4o", "openai") == MediaTokens(tokens, 0)


def test_models_billing_images_their_own_way() -> None:
    message = image(data_url(png(1024, 1024)))
    assert media_tokens([message], "gpt-4o-mini-2024-07-18", "openai").other == 2833 + 4 * 5667
    assert media_tokens([message], "gpt-4.1-mini", "openai").other == 1659  # 1024 patches x 1.62
    assert media_tokens([message], "claude-sonnet-4-5", "anthropic").other == 1399  # 1024²/750
    assert media_tokens([message], "gemini-2.5-flash", "google_genai").other == 4 * 258
    small = image(data_url(png(300, 300)))
    assert media_tokens([small], "gemini-2.5-flash", "google_genai").other == 258


def test_an_image_of_unknown_size_counts_as_its_familys_largest() -> None:
    by_url = image("https://example.com/cat.png")
    assert media_tokens([by_url], "gpt-4o", "openai").other == 85 + 8 * 170
    assert media_tokens([by_url], "claude-opus-4", "anthropic").other == 1600
    assert media_tokens([by_url], "gpt-4.1-nano", "openai").other == 3779  # 1,536 patches
    # a model of no known family: the largest of every rule
    assert media_tokens([by_url], "my-local-vlm", "ollama").other == 16 * 258


def test_other_block_shapes_count_too() -> None:
    data = base64.b64encode(png(1024, 1024)).decode()
    shapes: list[dict[str, Any]] = [
        {"type": "image", "source_type": "base64", "data": data, "mime_type": "image/png"},
        {"type": "image", "base64": data, "mime_type": "image/png"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}},
    ]
    for shape in shapes:
        assert media_tokens([HumanMessage(content=[shape])], "gpt-4o", "openai").other == 765


def test_audio_counts_its_duration_as_audio_tokens() -> None:
    wav = b"RIFF\x00\x00\x00\x00WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
    clip = base64.b64encode(wav + b"\x00" * 32000 * 3).decode()  # 3 s at 32,000 bytes/s
    block = {"type": "input_audio", "input_audio": {"data": clip, "format": "wav"}}
    assert media_tokens([HumanMessage(content=[block])], "gpt-4o-audio-preview", "openai") == (
        MediaTokens(0, 31)  # 10 a second (its 44-byte header a few ms more)
    )
    by_url = {"type": "audio", "url": "https://example.com/call.mp3"}
    assert media_tokens([HumanMessage(content=[by_url])], "gemini-2.5-pro", "google_genai") == (
        MediaTokens(0, UNKNOWN_AUDIO_SECONDS * 32)
    )


def test_files_count_their_pages_or_bytes() -> None:
    pdf = b"%PDF-1.7\n" + b"1 0 obj << /Type /Page >> endobj\n" * 3 + b"<< /Type /Pages >>"
    block = {"type": "file", "file": {"file_data": data_url(pdf, "application/pdf")}}
    assert media_tokens([HumanMessage(content=[block])], "gpt-4o", "openai").other == (
        3 * PDF_PAGE_TOKENS
    )
    text = {
        "type": "file",
        "base64": base64.b64encode(b"x" * 3000).decode(),
        "mime_type": "text/csv",
    }
    assert media_tokens([HumanMessage(content=[text])], "gpt-4o", "openai").other == 3000
    by_id = {"type": "file", "file_id": "file-abc"}
    assert media_tokens([HumanMessage(content=[by_id])], "gpt-4o", "openai").other == (
        UNKNOWN_FILE_TOKENS
    )


def test_text_only_prompts_add_nothing() -> None:
    assert media_tokens([HumanMessage(content="hi")], "gpt-4o", "openai") == MediaTokens()


def test_the_worst_case_prices_media_and_audio_at_the_audio_rate() -> None:
    model = Deployment(model=None, model_id="gemini-2.5-flash", provider="google")  # type: ignore[arg-type]
    worst = WorstCase(PriceTable())  # $0.30 per million input tokens, $1 for audio
    assert worst.usd(model, 0, 1) - worst.usd(model, 0, 1, MediaTokens(1000, 0)) == Decimal(
        "-0.0003"
    )
    assert worst.usd(model, 0, 1, MediaTokens(0, 1000)) - worst.usd(model, 0, 1) == Decimal("0.001")
