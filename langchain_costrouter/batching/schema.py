"""What one item's answer must look like: a label set, a pydantic model, or free text.

A schema does three jobs for the batcher: it tells the model what to answer per item
(`describe`), it decides whether an answer is acceptable (`validate`, which raises
`ValueError` so a bad value sends the item back for another try), and it turns an
accepted value into plain JSON for the per-item cache (`dump`). `fingerprint` is part
of the cache key, so two schemas that accept different answers never share entries.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol, TypeAlias, runtime_checkable

from pydantic import BaseModel, ValidationError


@runtime_checkable
class ItemSchema(Protocol):
    """The contract a per-item output schema fulfils."""

    def describe(self) -> str:
        """One sentence for the prompt: what each item's answer must be."""
        ...

    def validate(self, value: Any) -> Any:
        """Return the accepted value, or raise `ValueError` saying why it is not."""
        ...

    def dump(self, value: Any) -> Any:
        """Turn an accepted value into JSON-serialisable data (for the cache)."""
        ...

    @property
    def fingerprint(self) -> str:
        """A stable text that changes whenever the accepted answers change."""
        ...


def normalise_label(text: str) -> str:
    """Fold case and collapse whitespace, so ' Billing ' matches 'billing'."""
    return " ".join(text.split()).casefold()


class LabelSchema:
    """Each answer is exactly one label of a fixed set (case and spacing forgiven)."""

    def __init__(self, labels: Sequence[str]) -> None:
        self.labels = list(labels)
        self._by_norm = {normalise_label(label): label for label in self.labels}
        if not self.labels or len(self._by_norm) != len(self.labels):
            raise ValueError(
                f"labels must be non-empty and distinct after folding case and spaces, "
                f"got {self.labels!r}"
            )

    def describe(self) -> str:
        """List the labels as JSON strings, so labels with quotes stay unambiguous."""
        return "exactly one of these labels, as a JSON string: " + json.dumps(
            self.labels, ensure_ascii=False
        )

    def validate(self, value: Any) -> str:
        """Map a near-exact label to its canonical spelling; anything else is invalid."""
        if not isinstance(value, str):
            raise ValueError(f"expected a label string, got {type(value).__name__}")
        label = self._by_norm.get(normalise_label(value))
        if label is None:
            raise ValueError(f"{value!r} is not one of the labels {self.labels!r}")
        return label

    def dump(self, value: Any) -> Any:
        """Labels are already JSON strings."""
        return value

    @property
    def fingerprint(self) -> str:
        """The label set in order: reordering changes the prompt, so it changes the key."""
        return "labels:" + json.dumps(self.labels, ensure_ascii=False)


class PydanticSchema:
    """Each answer is a JSON object validated by a pydantic model."""

    def __init__(self, model: type[BaseModel]) -> None:
        self.model = model

    def describe(self) -> str:
        """Give the model the JSON schema, the most precise description pydantic has."""
        schema = json.dumps(self.model.model_json_schema(), ensure_ascii=False)
        return f"a JSON object that matches this JSON schema: {schema}"

    def validate(self, value: Any) -> BaseModel:
        """Run pydantic's own validation; its error becomes the retry reason."""
        try:
            return self.model.model_validate(value)
        except ValidationError as error:
            raise ValueError(f"does not match {self.model.__name__}: {error}") from error

    def dump(self, value: Any) -> Any:
        """JSON mode, so datetimes and enums survive the cache round trip."""
        return value.model_dump(mode="json")

    @property
    def fingerprint(self) -> str:
        """The JSON schema, which changes with every field that changes validation."""
        return "pydantic:" + json.dumps(self.model.model_json_schema(), sort_keys=True)


class TextSchema:
    """Each answer is free text (any JSON string)."""

    def describe(self) -> str:
        """Free text still has to be a JSON string so ids keep their answers apart."""
        return "a JSON string"

    def validate(self, value: Any) -> str:
        """Only strings count: a number or an object means the model misread the task."""
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {type(value).__name__}")
        return value

    def dump(self, value: Any) -> Any:
        """Strings are already JSON."""
        return value

    @property
    def fingerprint(self) -> str:
        """All free-text schemas accept the same answers."""
        return "text"


SchemaSpec: TypeAlias = Sequence[str] | type[BaseModel] | ItemSchema | None


def as_schema(spec: SchemaSpec) -> ItemSchema:
    """Accept the short forms users write: a label list, a model class, or None for text."""
    if spec is None:
        return TextSchema()
    if isinstance(spec, type) and issubclass(spec, BaseModel):
        return PydanticSchema(spec)
    if isinstance(spec, ItemSchema):
        return spec
    if isinstance(spec, str):
        raise TypeError("labels must be a list of strings, not one string")
    return LabelSchema(spec)
