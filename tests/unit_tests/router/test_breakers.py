"""Circuit breakers tell listeners each change of state, once, and give a half-open
trial that was never made or never reported back."""

from __future__ import annotations

from langchain_costrouter import CircuitBreakers
from langchain_costrouter.router._breakers import Admission


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


def test_admit_says_whether_the_call_takes_the_half_open_trial() -> None:
    clock = Clock()
    breakers = CircuitBreakers(failure_threshold=1, cooldown=10, clock=clock)
    assert breakers.admit("a") is Admission.ALLOWED  # closed: no trial to report
    breakers.record_failure("a")
    assert breakers.admit("a") is Admission.REFUSED and not Admission.REFUSED
    clock.now = 10
    assert breakers.admit("a") is Admission.TRIAL
    assert breakers.admit("a") is Admission.REFUSED  # one trial at a time
    assert breakers.allow("a") is False  # the public yes or no
    breakers.record_success("a")
    assert breakers.allow("a") is True


def test_a_released_trial_leaves_the_breaker_open_with_its_cooldown_elapsed() -> None:
    clock = Clock()
    breakers = CircuitBreakers(failure_threshold=1, cooldown=10, clock=clock)
    heard: list[str] = []
    breakers.on_transition(lambda key, state: heard.append(state))
    breakers.record_failure("a")
    clock.now = 10
    assert breakers.admit("a") is Admission.TRIAL
    breakers.release("a")  # the trial was never made (a budget refused it, say)
    assert breakers.is_open("a") and not breakers.refuses("a")
    assert breakers.admit("a") is Admission.TRIAL  # the next call tries, at once
    breakers.record_failure("a")
    assert breakers.admit("a") is Admission.REFUSED  # that one failed: a new cooldown
    assert heard == ["open", "half_open", "half_open", "open"]


def test_releasing_without_a_trial_changes_nothing() -> None:
    clock = Clock()
    breakers = CircuitBreakers(failure_threshold=2, cooldown=10, clock=clock)
    breakers.release("a")  # never seen
    assert breakers.is_closed("a")
    breakers.record_failure("a")
    breakers.release("a")  # one failure of two: closed, no trial
    breakers.record_failure("a")
    breakers.release("a")  # open, in its cooldown: no trial either
    assert breakers.admit("a") is Admission.REFUSED


def test_a_trial_never_reported_for_a_cooldown_lets_another_call_try() -> None:
    """A trial whose outcome never comes (its thread killed mid-call, a path that forgot
    to report) refused the deployment for the rest of the process. Outstanding for a
    whole cooldown, it counts as lost: one more trial per cooldown, as after opening."""
    clock = Clock()
    breakers = CircuitBreakers(failure_threshold=1, cooldown=10, clock=clock)
    heard: list[str] = []
    breakers.on_transition(lambda key, state: heard.append(state))
    breakers.record_failure("a")
    clock.now = 10
    assert breakers.admit("a") is Admission.TRIAL  # never reported
    clock.now = 19.9
    assert breakers.admit("a") is Admission.REFUSED and breakers.refuses("a")
    clock.now = 20
    assert not breakers.refuses("a")
    assert breakers.admit("a") is Admission.TRIAL
    assert breakers.admit("a") is Admission.REFUSED  # still one trial at a time
    assert heard == ["open", "half_open", "half_open"]
    breakers.record_success("a")
    assert breakers.is_closed("a") and heard[-1] == "closed"


def test_a_lost_trial_given_back_late_does_not_free_the_trial_after_it() -> None:
    """The first trial's late release is not the second's: the second still runs, so
    no third call may try alongside it."""
    clock = Clock()
    breakers = CircuitBreakers(failure_threshold=1, cooldown=10, clock=clock)
    breakers.record_failure("a")
    clock.now = 10
    assert breakers.admit("a") is Admission.TRIAL
    clock.now = 20
    assert breakers.admit("a") is Admission.TRIAL
    breakers.release("a")  # the first, at last
    assert breakers.admit("a") is Admission.REFUSED
    breakers.release("a")  # the second
    assert breakers.admit("a") is Admission.TRIAL
