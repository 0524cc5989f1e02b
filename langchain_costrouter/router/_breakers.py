"""Circuit breakers per deployment, shared by every route (and, by default, every router).

A breaker tracks one deployment: its key, endpoint (base URL) and model, see
`Deployment.breaker_key`. After ``failure_threshold`` consecutive retryable failures
that deployment is skipped for ``cooldown`` seconds, so a dead endpoint costs one fast
skip per call instead of a full retry loop; after the cooldown one trial call is let
through (half-open); listeners (`on_transition`) hear each change of state, for
telemetry. The call that takes the trial (`CircuitBreakers.admit` says so) owes the
breaker its outcome: a success or a retryable failure, else `CircuitBreakers.release`
when the trial was never made or ended otherwise (a budget refused it, a rate limit or
a context overflow failed it over, a fatal error, a cancellation). A trial whose outcome
never comes (its thread killed mid-call, a path that forgot) counts as lost once it has
been out for a whole cooldown, the breaker's one measure of how long to leave a dead
endpoint alone: the next call takes another trial, so a dead endpoint still costs at most
one trial per cooldown, and an outcome reported late still counts. Keys are per
deployment because a key name says nothing about health: two ``ChatOpenAI`` on different
base URLs are both "openai", and a healthy model's successes must not reset a dead one's
count.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum


class Admission(IntEnum):
    """What `CircuitBreakers.admit` lets a call do; false only when it is refused."""

    REFUSED = 0
    ALLOWED = 1
    """Closed (or with failures under the threshold): nothing to report back."""
    TRIAL = 2
    """The half-open trial: report its outcome, or `CircuitBreakers.release` it."""


@dataclass
class _State:
    failures: int = 0
    opened_at: float | None = None
    trials: int = 0
    """Half-open trials admitted and neither reported nor released (more than one only
    once the earlier ones were out for a cooldown)."""
    trial_at: float = 0.0
    """When the latest of them was admitted."""


class CircuitBreakers:
    """Breaker state per deployment key; thread-safe, shared by sync and async calls."""

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
        self._listeners: list[Callable[[str, str], object]] = []

    def on_transition(self, listener: Callable[[str, str], object]) -> None:
        """Call ``listener(key, state)`` when a breaker opens, half-opens or closes
        (registering the same listener again changes nothing)."""
        with self._lock:
            if listener not in self._listeners:
                self._listeners.append(listener)

    def __repr__(self) -> str:
        return (
            f"CircuitBreakers(failure_threshold={self.failure_threshold}, cooldown={self.cooldown})"
        )

    def allow(self, key: str) -> bool:
        """Whether a call to ``key`` may go ahead now (past the cooldown, this call is
        the half-open trial: ask only right before calling, see `admit`)."""
        return self.admit(key) is not Admission.REFUSED

    def admit(self, key: str) -> Admission:
        """Whether a call to ``key`` may go ahead now, and whether it is the half-open
        trial, whose outcome it must report (`record_success`, `record_failure`) or
        give back (`release`). Ask only right before calling."""
        if key not in self._states:  # the common case, answered without the lock
            return Admission.ALLOWED
        with self._lock:
            state = self._states.get(key)
            if state is None or state.opened_at is None:
                return Admission.ALLOWED
            now = self.clock()
            if self._refusing(state, now):
                return Admission.REFUSED
            state.trials += 1
            state.trial_at = now
        self._notify(key, "half_open")
        return Admission.TRIAL

    def release(self, key: str) -> None:
        """Give back a half-open trial `admit` gave a call that neither succeeded nor
        failed retryably: the breaker is open with its cooldown elapsed again, so the
        next call may try (unless a later trial, admitted once this one was out for a
        cooldown, still runs). Listeners hear nothing (no endpoint was found dead), and the
        next trial is heard as ``half_open`` again. A key with no trial is left as it is."""
        if key not in self._states:
            return
        with self._lock:
            state = self._states.get(key)
            if state is not None and state.trials:
                state.trials -= 1

    def refuses(self, key: str) -> bool:
        """Whether `allow` would say no now, without taking the half-open trial: the
        retry loop asks before it backs off, so it sleeps for no retry it would cut."""
        if key not in self._states:
            return False
        with self._lock:
            state = self._states.get(key)
            if state is None or state.opened_at is None:
                return False
            return self._refusing(state, self.clock())

    def _refusing(self, state: _State, now: float) -> bool:
        """Open within its cooldown, or a trial out for less than one (see the module)."""
        assert state.opened_at is not None
        in_cooldown = now - state.opened_at < self.cooldown
        return in_cooldown or (state.trials > 0 and now - state.trial_at < self.cooldown)

    def is_closed(self, key: str) -> bool:
        """No failures on record for ``key`` (read without the lock)."""
        return key not in self._states

    def record_success(self, key: str) -> None:
        if key not in self._states:
            return
        with self._lock:
            state = self._states.pop(key, None)
        if state is not None and state.opened_at is not None:
            self._notify(key, "closed")

    def record_failure(self, key: str) -> None:
        with self._lock:
            state = self._states.setdefault(key, _State())
            state.failures += 1
            opens = state.opened_at is None or state.trials > 0  # else: open already
            state.trials = 0
            if state.failures < self.failure_threshold:
                return
            state.opened_at = self.clock()
        if opens:
            self._notify(key, "open")

    def _notify(self, key: str, state: str) -> None:
        for listener in self._listeners:
            listener(key, state)

    def is_open(self, key: str) -> bool:
        with self._lock:
            state = self._states.get(key)
            return bool(state and state.opened_at is not None)
