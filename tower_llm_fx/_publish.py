"""Make a curated namespace show its own name in reprs and tracebacks (as httpx does).

Theory of operation: each public ``__init__`` re-exports names from private
modules and calls `publish`, which sets ``__module__`` on the classes and
functions it exports so that ``repr(fx.ModelCall)`` reads
``tower_llm_fx.ModelCall``, not ``tower_llm_fx._effects.ModelCall``.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping

__all__ = ["publish"]


def publish(namespace: str, module_globals: Mapping[str, object], names: Iterable[str]) -> None:
    """Set ``__module__ = namespace`` on every exported class and function defined in a private module.

    >>> def helper() -> None: ...
    >>> helper.__module__ = "pkg._private"
    >>> publish("pkg", {"helper": helper}, ["helper"])
    >>> helper.__module__
    'pkg'
    """
    root = namespace.split(".")[0]
    for name in names:
        obj = module_globals[name]
        if not isinstance(obj, (type, types.FunctionType)):
            continue
        module = obj.__module__ or ""
        if module.startswith(root + ".") and "._" in module:
            obj.__module__ = namespace
