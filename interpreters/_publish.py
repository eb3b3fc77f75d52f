"""Show the public namespace (``interpreters``, ``interpreters.layers``, ...) in reprs and tracebacks."""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping

__all__ = ["publish"]


def publish(namespace: str, module_globals: Mapping[str, object], names: Iterable[str]) -> None:
    """Set ``__module__ = namespace`` on the exported classes and functions of private ``interpreters`` modules."""
    for obj in (module_globals[n] for n in names):
        module = getattr(obj, "__module__", "") or ""
        if (
            isinstance(obj, (type, types.FunctionType))
            and module.startswith("interpreters.")
            and "._" in module
        ):
            obj.__module__ = namespace
