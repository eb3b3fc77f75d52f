"""Route effects to interpreters by effect type (the effect library's TypeDispatcher)."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Any, TypeVar, cast, final

import attrs

from tower_llm_fx import Effect, Parallel, UnhandledEffect

from ._types import Interpreter

__all__ = ["by_type"]

R = TypeVar("R")


@final
@attrs.frozen(eq=False)
class _ByType:
    handlers: Mapping[type[Any], Interpreter]

    def __call__(self, effect: Effect[R], /) -> Awaitable[R]:
        handler = self.handlers.get(type(effect))
        if handler is None:
            if type(effect) is Parallel:
                raise UnhandledEffect(
                    "a Parallel batch is not sent to interpreters: interpreters.perform(interpreter, "
                    "batch) sends each of its ToolCalls through the interpreter (run() and stream() do)"
                )
            handled = ", ".join(sorted(t.__name__ for t in self.handlers)) or "nothing"
            raise UnhandledEffect(
                f"no interpreter handles {type(effect).__name__}; this by_type() handles: {handled}. "
                f"Add {type(effect).__name__}: <interpreter> to the mapping."
            )
        # The one unavoidable cast: the mapping pairs each type with its interpreter.
        return cast("Awaitable[R]", handler(effect))

    def __repr__(self) -> str:
        inner = ", ".join(f"{t.__name__}: {h!r}" for t, h in self.handlers.items())
        return f"by_type({{{inner}}})"


def by_type(handlers: Mapping[type[Any], Interpreter], /) -> Interpreter:
    """An interpreter that sends each effect to the interpreter registered for its type.

    Raises ``UnhandledEffect`` (listing the handled types) for any other effect.

    >>> import tower_llm_fx as fx
    >>> from interpreters import by_type, fixed
    >>> interp = by_type({fx.ModelCall: fixed("hi")})
    """
    for t, h in handlers.items():
        if not (isinstance(t, type) and issubclass(t, Effect)):
            raise TypeError(f"by_type() keys must be effect classes such as ModelCall, got {t!r}")
        if not callable(h):
            raise TypeError(f"by_type() handler for {t.__name__} is {h!r}, not an interpreter")
    return _ByType(dict(handlers))
