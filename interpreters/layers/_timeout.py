"""`timeout`: give each effect type a deadline; cancel the call when it passes.

The inner call runs in an anyio cancel scope, so everything it started (tasks,
HTTP requests) is cancelled and has finished before we return: nothing leaks.
Nothing is folded into the run's state for a cancelled call, so the state is
exactly what it was before it.

What a missed deadline becomes depends on whose failure it is:

* a ``ToolCall`` is answered with an error ``ToolResult`` of kind ``"timeout"``
  (tool failures are data the model reads; the conversation stays valid);
  (each call of a ``Parallel`` batch has its own deadline: ``perform`` sends
  the calls through the stack one by one, so a call that finished keeps its
  result when a sibling times out);
* anything else (a ``ModelCall``, ...) raises `tower_llm_fx.EffectTimeout`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast, final

import anyio
import attrs

from interpreters._types import Interpreter
from tower_llm_fx import ConfigurationError, Effect, EffectTimeout, ToolCall, ToolResult

__all__ = ["timeout"]

R = TypeVar("R")


def _seconds(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ConfigurationError(f"{where} must be a positive number of seconds, got {value!r}")
    return float(value)


@final
@attrs.frozen
class _Timeout:
    default: float | None
    per_type: tuple[tuple[type[Any], float | None], ...]

    def deadline(self, effect: object) -> float | None:
        for t, seconds in self.per_type:
            if type(effect) is t:
                return seconds
        return self.default

    def __call__(self, inner: Interpreter) -> Interpreter:
        return _TimeoutInterpreter(inner, self)

    def __repr__(self) -> str:
        if not self.per_type:
            return f"timeout({self.default})"
        table = ", ".join(f"{t.__name__}: {s}" for t, s in self.per_type)
        default = f", default={self.default}" if self.default is not None else ""
        return f"timeout({{{table}}}{default})"


@final
@attrs.frozen
class _TimeoutInterpreter:
    inner: Interpreter
    layer: _Timeout

    async def __call__(self, effect: Effect[R], /) -> R:
        seconds = self.layer.deadline(effect)
        if seconds is None:
            return await self.inner(effect)
        with anyio.move_on_after(seconds):
            return await self.inner(effect)
        # Only our own deadline gets here: an outer cancellation propagates.
        if isinstance(effect, ToolCall):
            return cast("R", _timed_out(effect, seconds))
        name = type(effect).__name__
        raise EffectTimeout(
            f"{name} did not finish within {seconds:g} s and was cancelled; raise the deadline with "
            f"timeout({{{name}: ...}}), or add retry() outside timeout() to try again",
            effect_type=name,
            seconds=seconds,
        )

    def __repr__(self) -> str:
        return f"{self.layer!r}({self.inner!r})"


def _timed_out(call: ToolCall, seconds: float) -> ToolResult:
    return ToolResult.failure(
        call_id=call.id,
        name=call.name,
        kind="timeout",
        message=f"the tool did not finish within {seconds:g} s and was cancelled",
    )


def timeout(
    seconds: float | Mapping[type[Any], float | None], /, *, default: float | None = None
) -> _Timeout:
    """A layer giving effects a deadline: one for all, or one per effect type.

    ``timeout(30)`` gives every effect 30 s; ``timeout({ModelCall: 60, ToolCall: 10})``
    gives each listed type its own (``None`` = no deadline) and the rest ``default``.

    >>> import trio, tower_llm_fx as fx
    >>> async def slow_tool(effect):
    ...     await trio.sleep(10)
    >>> call = fx.ToolCall(id="c1", name="slow")
    >>> trio.run(timeout({fx.ToolCall: 0.01})(slow_tool), call).content
    'error (timeout): the tool did not finish within 0.01 s and was cancelled'
    """
    if isinstance(seconds, Mapping):
        table: list[tuple[type[Any], float | None]] = []
        for t, s in seconds.items():
            if not (isinstance(t, type) and issubclass(t, Effect)):
                raise ConfigurationError(f"timeout() keys must be effect types such as ModelCall, got {t!r}")
            table.append((t, None if s is None else _seconds(s, f"timeout for {t.__name__}")))
        return _Timeout(None if default is None else _seconds(default, "default"), tuple(table))
    if default is not None:
        raise ConfigurationError(
            "default= only makes sense with a per-type mapping: timeout({ModelCall: 60}, default=10)"
        )
    return _Timeout(_seconds(seconds, "timeout()"), ())
