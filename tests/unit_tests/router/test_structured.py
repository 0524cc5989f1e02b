"""What a child that is not OpenAI's is asked for, read back from ``response_format``.

The router only sees the ``response_format`` it bound (langchain-core drops the schema
it was built from before ``_generate``), so the method, schema and ``strict`` a child's
own ``with_structured_output`` is asked for must come back whole from it.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.language_models import LanguageModelInput
from langchain_core.output_parsers import JsonOutputParser
from langchain_core.runnables import Runnable
from pydantic import BaseModel, Field

from langchain_costrouter import RoutedChatModel
from langchain_costrouter.router._structured import native_structured_kwargs
from langchain_costrouter.testing import ScriptedChatModel

pytestmark = pytest.mark.filterwarnings("ignore::langchain_costrouter.errors.UnknownPriceWarning")


class Weather(BaseModel):
    """The weather in a city."""

    city: str


class _Asked(ScriptedChatModel):
    """Binds ``schema`` as its own kwarg and keeps what each request asked for."""

    asked: list[tuple[Any, dict[str, Any]]] = Field(default_factory=list)

    def with_structured_output(
        self, schema: Any = None, **options: Any
    ) -> Runnable[LanguageModelInput, Any]:
        self.asked.append((schema, options))
        return self.bind(schema=schema, ls_structured_output_format={}) | JsonOutputParser()


def test_the_schema_and_strict_reach_the_child_whole() -> None:
    child = _Asked(model="local", answers=['{"city": "Oslo"}'])
    router = RoutedChatModel(routes={"chat": [child]}, default_task="chat")

    structured = router.with_structured_output(Weather, method="json_schema", strict=True)
    assert structured.invoke("x") == Weather(city="Oslo")

    (schema, options), *_ = child.asked
    assert options == {"method": "json_schema", "strict": True}
    assert (schema["title"], schema["description"]) == ("Weather", "The weather in a city.")
    assert schema["properties"] == {"city": {"type": "string"}}
    assert schema["additionalProperties"] is False  # closed, as strict asked
    assert len(child.asked) == 2  # once when bound (the check), once for the call


def test_plain_text_and_no_format_leave_the_child_s_kwargs_alone() -> None:
    child = _Asked(model="local")
    text = native_structured_kwargs(child, {"response_format": {"type": "text"}, "seed": 1})
    assert text == {"seed": 1}
    assert native_structured_kwargs(child, {"seed": 1}) == {"seed": 1}
    assert child.asked == []


def test_a_bare_schema_is_asked_for_as_json_schema() -> None:
    child = _Asked(model="local")
    native = native_structured_kwargs(child, {"response_format": Weather})
    assert native == {"schema": Weather}
    assert child.asked == [(Weather, {"method": "json_schema"})]
