"""Tools bound to the router reach each child in the child's own dialect.

The stand-in child binds tools as ``ChatAnthropic.bind_tools`` does: its own tool
shape, ``tool_choice`` as an object, and ``parallel_tool_calls`` as that object's
``disable_parallel_tool_use`` (Anthropic's API has no ``parallel_tool_calls`` field).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from langchain_core.runnables import Runnable
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, Field

from langchain_costrouter import CircuitBreakers, Route, RoutedChatModel, Tier
from langchain_costrouter.checks import ToolCallCheck
from langchain_costrouter.testing import ScriptedChatModel


class Weather(BaseModel):
    """Get the weather."""

    city: str


class _AnthropicStyleChild(ScriptedChatModel):
    """Binds tools the way ChatAnthropic does, and keeps the kwargs of every request."""

    sent: list[dict[str, Any]] = Field(default_factory=list)

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: str | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        native = []
        for tool in tools:
            function = convert_to_openai_tool(tool)["function"]
            native.append({"name": function["name"], "input_schema": function["parameters"]})
        if tool_choice is not None:
            kwargs["tool_choice"] = {"type": "any" if tool_choice == "any" else tool_choice}
        if parallel_tool_calls is not None:
            choice = kwargs.setdefault("tool_choice", {"type": "auto"})
            choice["disable_parallel_tool_use"] = not parallel_tool_calls
        return self.bind(tools=native, **kwargs)

    def _generate(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> ChatResult:
        self.sent.append(kwargs)
        return super()._generate(messages, *args, **kwargs)


def test_parallel_tool_calls_reach_an_escalated_child_in_its_own_dialect() -> None:
    call = {"name": "Weather", "args": {"city": "Oslo"}, "id": "c1"}
    cheap = _AnthropicStyleChild(model="claude-haiku", answers=[AIMessage(content="no tool")])
    strong = _AnthropicStyleChild(model="claude-opus", answers=[AIMessage("", tool_calls=[call])])
    route = Route(tiers=(Tier.of(cheap, check=ToolCallCheck([Weather])), Tier.of(strong)))
    router = RoutedChatModel(routes={"t": route}, default_task="t", breakers=CircuitBreakers())

    bound = router.bind_tools([Weather], tool_choice="any", parallel_tool_calls=False)
    answer = bound.invoke("weather in Oslo")

    assert answer.tool_calls[0]["args"] == {"city": "Oslo"}
    for child in (cheap, strong):
        (sent,) = child.sent
        assert sent["tools"][0]["name"] == "Weather"
        assert sent["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
        assert "parallel_tool_calls" not in sent
