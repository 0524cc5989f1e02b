"""Test helpers shipped with the package: a real OpenAI-compatible server on loopback,
and `ScriptedChatModel`, an in-process chat model with scripted answers and faults.

``LocalOpenAIServer`` answers ``POST /v1/chat/completions`` like OpenAI (usage, SSE
streaming, tool calls, JSON mode and schemas, latency, injected faults), so tests drive
the real ``ChatOpenAI`` client instead of mocking it.
"""

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
    "Fault",
    "FaultKind",
    "LocalOpenAIServer",
    "LoggedRequest",
    "Reply",
    "Responder",
    "ScriptedChatModel",
    "ToolCall",
    "count_prompt_tokens",
    "count_text_tokens",
]
