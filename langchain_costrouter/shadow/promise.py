"""What a calibrated policy promised per task, for ``costrouter drift`` to hold it to.

A policy calibrated with intervals states, per task, ``guarantee.quality`` and
``guarantee.quality_interval``; an older one states its train quality only (then the
promise has no interval and its lower end is the train quality itself). The promise is
keyed by the policy's digest, the version its routes carry, so a shadow sample is
compared with the promise of the policy that served it, even after a recalibration.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from langchain_costrouter.calibration.policy import load_policy
from langchain_costrouter.calibration.policy_routes import policy_digest
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.shadow.rows import Promise


def policy_promises(path: str | Path) -> list[Promise]:
    """The promise of every task of the policy file at ``path``."""
    source = Path(path)
    digest = policy_digest(load_policy(source))  # checks the file, and names its routes
    tasks = json.loads(source.read_text(encoding="utf-8"))["tasks"]
    return [_promise(digest, source.stem, task, spec) for task, spec in sorted(tasks.items())]


def _promise(digest: str, name: str, task: str, spec: Mapping[str, Any]) -> Promise:
    guarantee = spec.get("guarantee") or {}
    if isinstance(guarantee.get("quality"), int | float):
        low, high = _interval(guarantee.get("quality_interval"), float(guarantee["quality"]))
        return Promise(digest, name, task, float(guarantee["quality"]), low, high, "guarantee")
    train = spec.get("train") or {}
    quality = train.get("quality")
    if not isinstance(quality, int | float):
        raise ConfigError(
            "states no quality (guarantee.quality or train.quality): recalibrate it",
            path=name,
            key=f"tasks.{task}",
        )
    return Promise(digest, name, task, float(quality), float(quality), None, "train")


def _interval(value: Any, quality: float) -> tuple[float, float | None]:
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) for v in value)
    ):
        return float(value[0]), float(value[1])
    return quality, None
