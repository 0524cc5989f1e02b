"""Circuit breakers tell listeners each change of state, once."""

from __future__ import annotations

from langchain_costrouter import CircuitBreakers


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_listeners_hear_open_half_open_and_closed_once_each() -> None:
    clock = Clock()
    breakers = CircuitBreakers(failure_threshold=2, cooldown=10, clock=clock)
    heard: list[tuple[str, str]] = []
    breakers.on_transition(lambda key, state: heard.append((key, state)))
    breakers.record_failure("a")
    assert heard == []  # one failure of two: still closed
    breakers.record_failure("a")
    breakers.record_failure("a")  # a call that was in flight fails too: open already
    assert heard == [("a", "open")]
    assert not breakers.allow("a")
    clock.now = 10
    assert breakers.allow("a")
    breakers.record_failure("a")  # the trial failed: open again
    clock.now = 20
    assert breakers.allow("a")
    breakers.record_success("a")
    assert heard == [("a", "open"), ("a", "half_open"), ("a", "open"), ("a", "half_open"),
                     ("a", "closed")]  # fmt: skip
    breakers.record_success("a")  # closed already: nothing to hear
    assert len(heard) == 5


def test_the_same_listener_registered_twice_hears_once() -> None:
    breakers = CircuitBreakers(failure_threshold=1)
    heard: list[str] = []

    def listener(key: str, state: str) -> None:
        heard.append(state)

    breakers.on_transition(listener)
    breakers.on_transition(listener)
    breakers.record_failure("a")
    assert heard == ["open"]
