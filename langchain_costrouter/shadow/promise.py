"""What a calibrated policy promised per task, for ``costrouter drift`` to hold it to.

Drift holds a task to the lowest quality its policy promised (`Promise.low`, the
threshold), never to a figure the search measured on the rows it chose with: that one
is the luckiest of many candidates, and live traffic falls short of it by chance. Which
figure that is depends on the search that wrote the policy's ``train`` entry:

- the guarded search (``"method": "guarded"``, the default) proves that the quality
  loss against the baseline is at most ``loss_upper_bound`` at its confidence, and the
  threshold is ``quality_lower_bound``: a lower confidence bound of the task's quality,
  never above the baseline's quality minus that loss bound (`calibration.quality_bound`:
  the baseline's train mean alone is one its true quality is under half the time). The
  expected quality is ``expected_quality``, measured on nested folds, and
  ``quality_interval`` is its uncertainty: shown, not held. Its ``quality`` is the final
  cascade's own train figure, which is exactly the in-sample number not to hold it to;
- the legacy search (``--method legacy``) promises only that the train quality reached
  ``target_quality``: the threshold is the target, or the train quality when the search
  fell short of the target (it promised no more than it reached);
- a policy with a train quality alone (written by hand) is held to that quality;
- a hand-written ``guarantee`` entry (``quality``, ``quality_interval``) is held to its
  interval's lower end.

The promise is keyed by the policy's digest, the version its routes carry, so a shadow
sample is compared with the promise of the policy that served it, even after a
recalibration.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from langchain_costrouter.calibration.policy import load_policy
from langchain_costrouter.calibration.policy_routes import policy_digest
from langchain_costrouter.errors import ConfigError
from langchain_costrouter.shadow.rows import GUARANTEE, GUARDED, TARGET, TRAIN, Promise


class _Figures(NamedTuple):
    """A promise without its policy and task: expected quality, threshold, interval top."""

    quality: float
    low: float
    high: float | None
    source: str


def policy_promises(path: str | Path) -> list[Promise]:
    """The promise of every task of the policy file at ``path``."""
    source = Path(path)
    digest = policy_digest(load_policy(source))  # checks the file, and names its routes
    tasks = json.loads(source.read_text(encoding="utf-8"))["tasks"]
    return [_promise(digest, source.stem, task, spec) for task, spec in sorted(tasks.items())]


def _promise(digest: str, name: str, task: str, spec: Mapping[str, Any]) -> Promise:
    figures = _figures(spec)
    if figures is None:
        raise ConfigError(
            "states no promise (train.expected_quality and train.quality_lower_bound of "
            "the guarded search, or train.quality): recalibrate it",
            path=name,
            key=f"tasks.{task}",
        )
    return Promise(digest, name, task, *figures)


def _figures(spec: Mapping[str, Any]) -> _Figures | None:
    """The promise the task's entry makes, read the way its search wrote it."""
    guarantee = _mapping(spec.get("guarantee"))
    train = _mapping(spec.get("train"))
    if _number(guarantee.get("quality")) is not None:
        return _guarantee(guarantee)
    if train.get("method") == GUARDED:
        return _guarded(train)
    return _legacy(train)


def _guarded(train: Mapping[str, Any]) -> _Figures | None:
    """The guarded search's promise: held to its proven lower bound, not its train figure."""
    expected = _number(train.get("expected_quality"))
    bound = _number(train.get("quality_lower_bound"))
    if expected is None or bound is None:
        return None  # never falls back to train.quality: the in-sample figure
    interval = _interval(train.get("quality_interval"))
    high = None if interval is None else interval[1]
    return _Figures(expected, bound, high, GUARDED)


def _legacy(train: Mapping[str, Any]) -> _Figures | None:
    """The legacy search's promise: its target, which its train quality reached."""
    quality = _number(train.get("quality"))
    if quality is None:
        return None
    target = _number(train.get("target_quality"))
    if target is not None and target <= quality:
        return _Figures(quality, target, None, TARGET)
    return _Figures(quality, quality, None, TRAIN)  # no target, or one it fell short of


def _guarantee(guarantee: Mapping[str, Any]) -> _Figures:
    """A hand-written guarantee: held to its interval's lower end (its quality without one)."""
    quality = float(guarantee["quality"])
    interval = _interval(guarantee.get("quality_interval"))
    if interval is None:
        return _Figures(quality, quality, None, GUARANTEE)
    return _Figures(quality, interval[0], interval[1], GUARANTEE)


def _interval(value: Any) -> tuple[float, float] | None:
    if not isinstance(value, list) or len(value) != 2:
        return None
    low, high = (_number(v) for v in value)
    return None if low is None or high is None else (low, high)


def _number(value: Any) -> float | None:
    """A JSON number as a float; None for anything else (``true`` is not a quality)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
