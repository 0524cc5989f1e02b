"""Test helpers shipped with the package: real OpenAI- and Anthropic-compatible servers on
loopback, and `ScriptedChatModel`, an in-process chat model with scripted answers and faults.

``LocalOpenAIServer`` answers ``POST /v1/chat/completions`` like OpenAI (usage, SSE
streaming, tool calls, JSON mode and schemas, latency, injected faults), so tests drive
the real ``ChatOpenAI`` client instead of mocking it. ``LocalAnthropicServer`` answers
``POST /v1/messages`` like Anthropic (text, usage, SSE streaming, an HTTP error status or
an ``error`` event inside a 200 stream) for the real ``ChatAnthropic``.
"""

from langchain_costrouter.testing.anthropic_server import (
    AnthropicErrorEvent,
    AnthropicHTTPError,
    LocalAnthropicServer,
)
from langchain_costrouter.testing.models import ScriptedChatModel
from langchain_costrouter.testing.openai_server import LocalOpenAIServer, Responder
from langchain_costrouter.testing.replies import (
    CONTEXT_LENGTH_EXCEEDED,
    Fault,
    FaultKind,
    LoggedRequest,
    Reply,
    ToolCall,
)
from langchain_costrouter.testing.tokens import count_prompt_tokens, count_text_tokens

__all__ = [
    "CONTEXT_LENGTH_EXCEEDED",
    "AnthropicErrorEvent",
    "AnthropicHTTPError",
    "Fault",
    "FaultKind",
    "LocalAnthropicServer",
    "LocalOpenAIServer",
    "LoggedRequest",
    "Reply",
    "Responder",
    "ScriptedChatModel",
    "ToolCall",
    "count_prompt_tokens",
    "count_text_tokens",
]
