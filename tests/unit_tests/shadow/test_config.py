"""ShadowConfig refuses what would silently shadow nothing or everything."""

from __future__ import annotations

from typing import Any

import pytest

from langchain_costrouter.errors import ConfigError
from langchain_costrouter.shadow.config import ShadowConfig, ShadowTask


def test_rates_become_tasks_and_other_tasks_are_not_shadowed() -> None:
    config = ShadowConfig(
        tasks={"chat": 0.1, "math": ShadowTask(1.0, store_prompts=True)}, score="exact"
    )
    assert config.task("chat") == ShadowTask(0.1)
    assert config.task("math") == ShadowTask(1.0, store_prompts=True)
    assert config.task("other") is None


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"tasks": {}}, "shadow.tasks"),
        ({"tasks": {"chat": 0}}, "shadow.tasks.chat.rate"),
        ({"tasks": {"chat": 1.5}}, "shadow.tasks.chat.rate"),
        ({"score": "bleu"}, "shadow.score"),
        ({"queue_size": 0}, "shadow.queue_size"),
        ({"workers": True}, "shadow.workers"),
        ({"prompt_retention_days": 0}, "shadow.prompt_retention_days"),
        ({"retention_days": -1}, "shadow.retention_days"),
        ({"redact": "mask"}, "shadow.redact"),
    ],
)
def test_bad_settings_name_their_key(kwargs: dict[str, Any], key: str) -> None:
    settings: dict[str, Any] = {"tasks": {"chat": 0.1}, "score": "exact", **kwargs}
    with pytest.raises(ConfigError) as error:
        ShadowConfig(**settings)
    assert error.value.key == key
