"""`quiet_repr`: a ``repr`` that leaves out fields still at their default.

Theory: the wire-fidelity fields (``extra``, ``reasoning``, ``provider_tools``,
usage details) are ``None`` or empty on almost every value; printing them
everywhere would bury what matters. A class decorated with ``quiet_repr(names)``
prints every field as attrs would, except the named ones while they hold their
default. Equality, hashing and serialisation are unaffected.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = ["quiet_repr"]

C = TypeVar("C", bound=type[Any])


def quiet_repr(*names: str) -> Callable[[C], C]:
    """Decorate an attrs class so ``names`` show in its repr only when not at their default.

    >>> @quiet_repr("note")
    ... @attrs.frozen
    ... class Point:
    ...     x: int
    ...     note: str | None = None
    >>> Point(1), Point(1, "origin")
    (Point(x=1), Point(x=1, note='origin'))
    """

    def decorate(cls: C) -> C:
        fields = [f for f in attrs.fields(cls) if f.repr]
        by_name = {f.name: f for f in fields}
        missing = [n for n in names if n not in by_name]
        if missing:  # pragma: no cover - a guard for whoever renames a field
            raise TypeError(f"quiet_repr: {cls.__name__} has no repr field(s) {missing}")
        quiet = {n: by_name[n].default for n in names}
        shown = tuple((f.name, f.name in quiet) for f in fields)
        qualname = cls.__qualname__

        def quiet_repr_of(self: Any) -> str:
            parts = []
            for name, maybe in shown:
                value = getattr(self, name)
                if maybe and value == quiet[name]:
                    continue
                parts.append(f"{name}={value!r}")
            return f"{qualname}({', '.join(parts)})"

        cls.__repr__ = quiet_repr_of  # type: ignore[assignment]
        return cls

    return decorate
