"""Per-provider circuit breakers, shared by every route of a router.

After ``failure_threshold`` consecutive retryable failures a provider is skipped
for ``cooldown`` seconds, so a dead endpoint costs one fast skip per call instead of
a full retry loop. After the cooldown one trial call is let through (half-open).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _State:
    failures: int = 0
    opened_at: float | None = None
    trial_in_flight: bool = False


class CircuitBreakers:
    """Breaker state keyed by provider name; thread-safe, shared by sync and async calls."""

    def __init__(
        self,
        failure_threshold: int = 5,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.clock = clock
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"CircuitBreakers(failure_threshold={self.failure_threshold}, cooldown={self.cooldown})"
        )

    def allow(self, provider: str) -> bool:
        """Whether a call to ``provider`` may go ahead now."""
        if provider not in self._states:  # the common case, answered without the lock
            return True
        with self._lock:
            state = self._states.get(provider)
            if state is None or state.opened_at is None:
                return True
            if self.clock() - state.opened_at < self.cooldown or state.trial_in_flight:
                return False
            state.trial_in_flight = True
            return True

    def is_closed(self, provider: str) -> bool:
        """No failures on record for ``provider`` (read without the lock)."""
        return provider not in self._states

    def record_success(self, provider: str) -> None:
        if provider not in self._states:
            return
        with self._lock:
            self._states.pop(provider, None)

    def record_failure(self, provider: str) -> None:
        with self._lock:
            state = self._states.setdefault(provider, _State())
            state.failures += 1
            state.trial_in_flight = False
            if state.failures >= self.failure_threshold:
                state.opened_at = self.clock()

    def is_open(self, provider: str) -> bool:
        with self._lock:
            state = self._states.get(provider)
            return bool(state and state.opened_at is not None)
