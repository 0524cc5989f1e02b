"""The semantic layer's embeddings calls: an outage or a broken vector is a warned miss.

The semantic layer is an optimisation like the rest of the cache (README "Cache": a down
backend is a miss with a warning), and its embeddings model is one more service that can
be down, rate-limited or answer nonsense. A failed embedding used to fail the routed call
itself, after the provider had answered and been paid when it happened while storing.
`Embedder` turns it into a miss (the exact cache still answers) with one
`BackendUnavailableWarning` per outage, and skips the model for the cache's
``retry_after`` seconds, as `BackendGuard` does for a store, so an unreachable endpoint
costs one timeout per pause instead of two per call. A vector that is not one (NaN or
infinite components, all zeros, empty, not a list of numbers) is refused the same way
and never stored, where it would never match and fill the partition with junk.
"""

from __future__ import annotations

import threading
import time
import warnings
from typing import TYPE_CHECKING, Protocol

import numpy as np

from langchain_costrouter._secrets import error_text
from langchain_costrouter.errors import BackendUnavailableWarning

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings


class EmbeddingError(ValueError):
    """An embeddings model answered with something that is not a usable vector."""


def unit_vector(raw: object) -> list[float]:
    """``raw`` scaled to length 1, so that similarity is a dot product.

    Raises:
        EmbeddingError: ``raw`` is not a non-empty list of finite numbers, or all zeros.
    """
    try:
        array = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise EmbeddingError(f"got {type(raw).__name__}, not a list of numbers") from None
    if array.ndim != 1 or array.size == 0:
        raise EmbeddingError(f"got an array of shape {array.shape}, not a vector")
    if not np.isfinite(array).all():
        raise EmbeddingError("the vector has NaN or infinite components")
    largest = float(np.abs(array).max())
    if largest == 0.0:
        raise EmbeddingError("the vector is all zeros")
    scaled = array / largest  # its norm cannot overflow, however large the components
    unit: list[float] = (scaled / np.linalg.norm(scaled)).tolist()
    return unit


class _Layer(Protocol):
    """What `Embedder` needs of a `SemanticLayer`."""

    embeddings: Embeddings

    def embed(self, text: str) -> list[float]: ...

    async def aembed(self, text: str) -> list[float]: ...


class Embedder:
    """Embeds through ``layer``; a failure is None, one warning and a pause."""

    def __init__(self, layer: _Layer, retry_after: float) -> None:
        """Skip the model for ``retry_after`` seconds after each failure."""
        self.layer = layer
        self.retry_after = retry_after
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def embed(self, text: str) -> list[float] | None:
        """The text's unit vector, or None (the model failed now or a moment ago)."""
        if time.monotonic() < self._paused_until:
            return None
        try:
            return self.layer.embed(text)
        except Exception as error:  # any provider's error: the call goes on without it
            self._failed(error)
            return None

    async def aembed(self, text: str) -> list[float] | None:
        """Async `embed`."""
        if time.monotonic() < self._paused_until:
            return None
        try:
            return await self.layer.aembed(text)
        except Exception as error:  # any provider's error: the call goes on without it
            self._failed(error)
            return None

    def _failed(self, error: Exception) -> None:
        with self._lock:
            first = time.monotonic() >= self._paused_until
            self._paused_until = time.monotonic() + self.retry_after
        if first:  # threads failing together during one outage warn once
            reason = f"{type(error).__name__}: {error_text(error, self.layer.embeddings)}"
            warnings.warn(
                f"The semantic cache's embeddings model failed ({reason}); calls are answered "
                f"from the exact cache only, and the model is tried again in "
                f"{self.retry_after:g}s.",
                BackendUnavailableWarning,
                stacklevel=5,
            )
