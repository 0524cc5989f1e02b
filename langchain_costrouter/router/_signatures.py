"""Signatures precomputed for the methods langchain-core inspects on every call.

``BaseChatModel._generate_with_cache`` runs ``inspect.signature(self._generate)`` on
every uncached call (``_agenerate`` likewise), only to see whether it takes
``run_manager``. Built from scratch that costs about 13 µs, as much as the rest of the
router's own work on a call. For a bound method `inspect` always builds a new signature
without ``self`` (4.5 µs, even from a stored ``__signature__``); a callable that is not
a method and carries its ``__signature__`` gets it back as is (1.5 µs). So a
`presigned` method, read from an instance, is such a callable: a ``functools.partial``
binding the instance, which calls through at C speed.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, cast

F = TypeVar("F", bound=Callable[..., Any])


class _SignedPartial(functools.partial):  # type: ignore[type-arg]
    """A method bound to its instance, with the bound signature `inspect` reads as is."""

    __slots__ = ("__signature__",)
    __signature__: inspect.Signature


class Presigned:
    """A method descriptor: the plain function on the class, a `_SignedPartial` on an
    instance (so ``type(model)._generate`` still compares as the function it wraps)."""

    def __init__(self, method: Callable[..., Any]) -> None:
        self._method = method
        signature = inspect.signature(method)
        self._bound = signature.replace(parameters=tuple(signature.parameters.values())[1:])

    def __get__(self, instance: object, owner: type | None = None) -> Callable[..., Any]:
        if instance is None:
            return self._method
        bound = _SignedPartial(self._method, instance)
        bound.__signature__ = self._bound
        return bound


def presigned(method: F) -> F:
    """Make ``instance.method`` carry its bound signature, so `inspect` need not rebuild it.

    A pydantic model using it lists `Presigned` in its ``ignored_types``: pydantic would
    otherwise take an underscored attribute that is not a function for a private one.
    """
    return cast(F, Presigned(method))
