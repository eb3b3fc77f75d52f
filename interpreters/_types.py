"""The shell's two shapes: an `Interpreter` and a `Layer`, plus `identity` and `stack`.

An interpreter is anything with ``async __call__(effect) -> result``: a bare
``async def`` qualifies. A layer is a plain function from one interpreter to
another. ``stack(a, b)(inner)`` is ``a(b(inner))``: ``a`` sees each effect
first and each result last (the order of tower's ``ServiceBuilder``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeAlias, TypeVar, final

import attrs

from tower_llm_fx import Effect

__all__ = ["Interpreter", "Layer", "identity", "stack"]

R = TypeVar("R")


class Interpreter(Protocol):
    """Performs an effect and returns its result: ``await interp(effect)``."""

    def __call__(self, effect: Effect[R], /) -> Awaitable[R]: ...


Layer: TypeAlias = Callable[[Interpreter], Interpreter]
"""An interpreter transformer (retry, timeout, tracing, recording, ...)."""


def identity(inner: Interpreter) -> Interpreter:
    """The layer that changes nothing: ``stack(identity, L) ≡ L ≡ stack(L, identity)``."""
    return inner


@final
@attrs.frozen
class _Stack:
    layers: tuple[Layer, ...]

    def __call__(self, inner: Interpreter) -> Interpreter:
        for layer in reversed(self.layers):
            inner = layer(inner)
        return inner

    def __repr__(self) -> str:
        return "stack(" + ", ".join(getattr(layer, "__name__", repr(layer)) for layer in self.layers) + ")"


def stack(*layers: Layer) -> Layer:
    """Compose layers; the first one listed sees each effect first.

    >>> seen = []
    >>> def tag(name):
    ...     def layer(inner):
    ...         async def interp(effect):
    ...             seen.append(name)
    ...             return await inner(effect)
    ...         return interp
    ...     layer.__name__ = name
    ...     return layer
    >>> stack(tag("outer"), tag("inner"))
    stack(outer, inner)
    """
    for i, layer in enumerate(layers):
        if not callable(layer):
            raise TypeError(
                f"stack() argument {i} is {layer!r}, not a layer (a function interpreter -> interpreter)"
            )
    flat: list[Layer] = []
    for layer in layers:
        flat.extend(layer.layers if isinstance(layer, _Stack) else (layer,))
    return _Stack(tuple(flat))
