"""Document types: what an app puts into the search engine, declared as plain dataclasses.

An app registers one :class:`DocType` per kind of thing it wants found (instruments, experts,
technology offers, …) and then feeds documents, plain mappings keyed by field name plus
``"id"``, to a :class:`~techexchange.search.index.SearchIndex` built for that type.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = [
    "DocType",
    "KeywordField",
    "NumericField",
    "Registry",
    "TextField",
    "registry",
]

_RESERVED = frozenset({"id"})


@dataclass(frozen=True, slots=True)
class TextField:
    """A full-text field; ``weight`` repeats its tokens in the ranked stream (BM25F by tf).

    Weights are small integers: ``title`` ×2 or ×3 over ``summary`` ×1 is the usual shape.
    The original text is stored, for display and highlighting.
    """

    name: str
    weight: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.weight <= 10:
            raise ValueError(f"text field {self.name!r}: weight must be an integer 1..10")


@dataclass(frozen=True, slots=True)
class KeywordField:
    """An exact-value field (province, city, category, mode, …): filterable and faceted.

    A document may hold one value or a list of values.
    """

    name: str


@dataclass(frozen=True, slots=True)
class NumericField:
    """A number (price, capacity, a timestamp in epoch seconds): range filters and sorting."""

    name: str


@dataclass(frozen=True, slots=True)
class DocType:
    """One searchable kind of document.

    ``stored`` names extra fields returned with each hit verbatim (any JSON value); text,
    keyword and numeric fields are always returned.
    """

    name: str
    text_fields: tuple[TextField, ...]
    keyword_fields: tuple[KeywordField, ...] = ()
    numeric_fields: tuple[NumericField, ...] = ()
    stored: tuple[str, ...] = ()
    _names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.text_fields:
            raise ValueError(f"doc type {self.name!r} needs at least one text field")
        names = [f.name for f in self.text_fields]
        names += [f.name for f in self.keyword_fields]
        names += [f.name for f in self.numeric_fields]
        names += list(self.stored)
        if len(set(names)) != len(names):
            raise ValueError(f"doc type {self.name!r}: duplicate field names")
        bad = [n for n in names if n in _RESERVED or n.startswith("_") or not n.isidentifier()]
        if bad:
            raise ValueError(f"doc type {self.name!r}: invalid field names {bad}")
        object.__setattr__(self, "_names", frozenset(names))

    @property
    def field_names(self) -> frozenset[str]:
        """All declared field names."""
        return self._names

    def keyword(self, name: str) -> KeywordField:
        """Return the keyword field *name* or raise KeyError."""
        for f in self.keyword_fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name}: no keyword field {name!r}")

    def numeric(self, name: str) -> NumericField:
        """Return the numeric field *name* or raise KeyError."""
        for f in self.numeric_fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name}: no numeric field {name!r}")


class Registry:
    """Doc types by name; apps register theirs at start-up (``AppConfig.ready``)."""

    def __init__(self) -> None:
        self._types: dict[str, DocType] = {}

    def register(self, doc_type: DocType) -> DocType:
        """Add *doc_type*; registering an identical type twice is harmless."""
        known = self._types.get(doc_type.name)
        if known is not None and known != doc_type:
            raise ValueError(f"doc type {doc_type.name!r} is already registered differently")
        self._types[doc_type.name] = doc_type
        return doc_type

    def get(self, name: str) -> DocType:
        """Return the doc type *name* or raise KeyError."""
        return self._types[name]

    def __iter__(self) -> Iterator[DocType]:
        return iter(self._types.values())

    def __contains__(self, name: object) -> bool:
        return name in self._types


registry = Registry()
"""The process-wide registry."""
