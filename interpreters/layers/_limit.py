"""`limit`: cap concurrent model and tool calls, and optionally pace model requests.

Concurrency is bounded with anyio ``CapacityLimiter``s shared by every
interpreter the layer wraps, so the cap holds across concurrent runs. The
calls of a ``Parallel`` batch come through one by one (``perform`` sends each
through the stack), so each takes one token: the cap holds for individual
tool calls.

Pacing (``per_second``) uses the pure `tower_llm_fx.resilience.TokenBucket`; the clock is
``anyio.current_time()``, so trio's ``MockClock`` drives it in tests.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast, final

import anyio
import attrs

from interpreters._types import Interpreter
from tower_llm_fx import ConfigurationError, Effect, ModelCall, ToolCall
from tower_llm_fx.resilience import BucketState, TokenBucket

__all__ = ["limit"]

R = TypeVar("R")


def _cap(value: int | None, name: str) -> int | None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ConfigurationError(f"{name} must be a positive int or None (no limit), got {value!r}")
    return value


@final
@attrs.define(eq=False)
class _Limit:
    model_calls: int | None
    tool_calls: int | None
    bucket: TokenBucket | None
    _models: anyio.CapacityLimiter | None = attrs.field(init=False, default=None)
    _tools: anyio.CapacityLimiter | None = attrs.field(init=False, default=None)
    _pace: BucketState | None = attrs.field(init=False, default=None)

    def __attrs_post_init__(self) -> None:
        self._models = anyio.CapacityLimiter(self.model_calls) if self.model_calls is not None else None
        self._tools = anyio.CapacityLimiter(self.tool_calls) if self.tool_calls is not None else None

    def __call__(self, inner: Interpreter) -> Interpreter:
        return _LimitInterpreter(inner, self)

    async def pace(self) -> None:
        if self.bucket is None:
            return
        self._pace, wait = self.bucket.take(self._pace, anyio.current_time())
        if wait > 0:
            await anyio.sleep(wait)

    def __repr__(self) -> str:
        parts = []
        if self.model_calls is not None:
            parts.append(f"model_calls={self.model_calls}")
        if self.tool_calls is not None:
            parts.append(f"tool_calls={self.tool_calls}")
        if self.bucket is not None:
            parts.append(f"per_second={self.bucket.rate}, burst={self.bucket.burst}")
        return f"limit({', '.join(parts)})"


@final
@attrs.frozen
class _LimitInterpreter:
    inner: Interpreter
    layer: _Limit

    async def __call__(self, effect: Effect[R], /) -> R:
        layer = self.layer
        if isinstance(effect, ModelCall):
            await layer.pace()
            return cast("R", await self._within(layer._models, effect))
        if isinstance(effect, ToolCall):
            return cast("R", await self._within(layer._tools, effect))
        return await self.inner(effect)

    async def _within(self, pool: anyio.CapacityLimiter | None, effect: Effect[Any]) -> Any:
        if pool is None:
            return await self.inner(effect)
        async with pool:
            return await self.inner(effect)

    def __repr__(self) -> str:
        return f"{self.layer!r}({self.inner!r})"


def limit(
    *,
    model_calls: int | None = None,
    tool_calls: int | None = None,
    per_second: float | None = None,
    burst: int = 1,
) -> _Limit:
    """A layer bounding how many model and tool calls run at once, and how fast model calls start.

    Args:
        model_calls: at most this many ``ModelCall``s in flight.
        tool_calls: at most this many tool calls in flight (each call of a
            ``Parallel`` batch counts).
        per_second: start at most this many ``ModelCall``s per second on average...
        burst: ...with up to ``burst`` at once.

    The limits are shared by every interpreter this layer wraps and by
    concurrent runs using it.

    >>> limit(model_calls=4, tool_calls=8, per_second=2.0)
    limit(model_calls=4, tool_calls=8, per_second=2.0, burst=1)
    """
    bucket = TokenBucket(rate=per_second, burst=burst) if per_second is not None else None
    return _Limit(
        model_calls=_cap(model_calls, "model_calls"), tool_calls=_cap(tool_calls, "tool_calls"), bucket=bucket
    )
