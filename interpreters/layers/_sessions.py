"""The ``with_store`` layer: send session effects to a store, everything else inward."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar, final

import attrs

from interpreters._types import Interpreter, Layer
from tower_llm_fx import Effect
from tower_llm_fx.sessions import (
    LoadSession,
    SaveSession,
)

__all__ = ["with_store"]

R = TypeVar("R")


_SESSION_EFFECTS = frozenset({LoadSession, SaveSession})  # final classes: type() is exact


@final
@attrs.frozen(eq=False)
class _WithStore:
    store: Interpreter
    inner: Interpreter

    def __call__(self, effect: Effect[R], /) -> Awaitable[R]:
        if type(effect) in _SESSION_EFFECTS:
            return self.store(effect)
        return self.inner(effect)

    def __repr__(self) -> str:
        return f"with_store({self.store!r})({self.inner!r})"


@final
@attrs.frozen(eq=False)
class _WithStoreLayer:
    store: Interpreter

    def __call__(self, inner: Interpreter) -> Interpreter:
        return _WithStore(self.store, inner)

    def __repr__(self) -> str:
        return f"with_store({self.store!r})"


def with_store(store: Interpreter) -> Layer:
    """A layer sending ``LoadSession`` / ``SaveSession`` to ``store`` and the rest to the inner interpreter.

    >>> from interpreters.stores import memory_store
    >>> with_store(memory_store())
    with_store(memory_store(<0 sessions>))
    """
    if not callable(store):
        raise TypeError(f"with_store() needs a session store (an interpreter), got {store!r}")
    return _WithStoreLayer(store)
