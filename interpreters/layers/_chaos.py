"""`chaos`: inject failures at chosen effect indexes, deterministically.

The layer counts the effects of the chosen types that pass through it (0, 1,
2, ...) and, at the indexes you name, performs a fault *instead of* calling the
inner interpreter. Put it below ``retry`` so that each attempt is a new index.
Faults look exactly like the real thing, so the layers above handle them as
they would in production:

================  =========================================  ==========================================
fault             model call (and other effects)              tool call / each call of a batch
================  =========================================  ==========================================
``rate_limited``  ``RateLimitError`` 429 (``Retry-After``)    error result, kind ``tool_raised``
``server_error``  ``ServerError`` 500                         error result, kind ``tool_raised``
``timeout``       ``EffectTimeout``                           error result, kind ``timeout``
``malformed``     ``MalformedResponse`` (not retryable)       error result, kind ``tool_raised``
``hang``          never returns (test your ``timeout``)       never returns
================  =========================================  ==========================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal, TypeAlias, TypeVar, cast, final

import anyio
import attrs
from attrs import validators as v

from interpreters._types import Interpreter
from tower_llm_fx import (
    ConfigurationError,
    Effect,
    EffectTimeout,
    MalformedResponse,
    ModelCall,
    RateLimitError,
    ServerError,
    ToolCall,
    ToolResult,
)

__all__ = ["Chaos", "Fault", "FaultKind", "chaos"]

R = TypeVar("R")

FaultKind: TypeAlias = Literal["rate_limited", "server_error", "timeout", "malformed", "hang"]
_KINDS = ("rate_limited", "server_error", "timeout", "malformed", "hang")


@final
@attrs.frozen(kw_only=True)
class Fault:
    """One fault to inject. ``retry_after`` is the hint a ``rate_limited`` fault carries.

    >>> Fault(kind="rate_limited", retry_after=2.0)
    Fault(kind='rate_limited', retry_after=2.0)
    """

    kind: FaultKind = attrs.field(validator=v.in_(_KINDS))
    retry_after: float | None = attrs.field(default=None, validator=v.optional(v.instance_of((int, float))))


def _error(fault: Fault, effect: Effect[Any]) -> Exception:
    name = type(effect).__name__
    if fault.kind == "rate_limited":
        return RateLimitError(
            f"injected fault: rate limited (HTTP 429) on {name}",
            status=429,
            code="rate_limit_exceeded",
            retry_after=fault.retry_after,
            retryable=True,
        )
    if fault.kind == "server_error":
        return ServerError(f"injected fault: server error (HTTP 500) on {name}", status=500, retryable=True)
    if fault.kind == "timeout":
        return EffectTimeout(f"injected fault: {name} timed out", effect_type=name, seconds=0.0)
    return MalformedResponse(
        f"injected fault: the reply to {name} could not be parsed", code="malformed_reply", retryable=False
    )


def _tool_failure(fault: Fault, call: ToolCall) -> ToolResult:
    if fault.kind == "timeout":
        return ToolResult.failure(
            call_id=call.id, name=call.name, kind="timeout", message="injected fault: the tool timed out"
        )
    return ToolResult.failure(
        call_id=call.id, name=call.name, kind="tool_raised", message=f"injected fault: {fault.kind}"
    )


@final
@attrs.define(eq=False)
class Chaos:
    """A fault-injection layer; see `chaos`. ``injected`` logs ``(index, effect type, fault kind)``."""

    faults: Mapping[int, Fault]
    effects: tuple[type[Any], ...]
    seen: int = 0
    injected: list[tuple[int, str, str]] = attrs.field(factory=list)

    def __call__(self, inner: Interpreter) -> Interpreter:
        return _ChaosInterpreter(inner, self)

    def __repr__(self) -> str:
        table = ", ".join(f"{i}: {f.kind!r}" for i, f in sorted(self.faults.items()))
        return f"chaos({{{table}}})"


@final
@attrs.frozen
class _ChaosInterpreter:
    inner: Interpreter
    layer: Chaos

    def __repr__(self) -> str:
        return f"{self.layer!r}({self.inner!r})"

    async def __call__(self, effect: Effect[R], /) -> R:
        layer = self.layer
        if type(effect) not in layer.effects:
            return await self.inner(effect)
        index = layer.seen
        layer.seen += 1
        fault = layer.faults.get(index)
        if fault is None:
            return await self.inner(effect)
        layer.injected.append((index, type(effect).__name__, fault.kind))
        if fault.kind == "hang":
            await anyio.sleep_forever()
        if isinstance(effect, ToolCall):
            return cast("R", _tool_failure(fault, effect))
        raise _error(fault, effect)


def chaos(
    faults: Mapping[int, Fault | FaultKind],
    *,
    effects: Iterable[type[Any]] = (ModelCall, ToolCall),
) -> Chaos:
    """A layer that injects ``faults[i]`` in place of the ``i``-th effect (0-based) of type ``effects``.

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import fixed
    >>> model = chaos({0: "server_error"})(fixed("ok"))
    >>> call = fx.ModelCall(model="m", messages=[fx.user("hi")])
    >>> try:
    ...     trio.run(model, call)
    ... except fx.ProviderError as e:
    ...     print(e.status)
    500
    >>> trio.run(model, call).message.content
    'ok'
    """
    table: dict[int, Fault] = {}
    for index, fault in faults.items():
        if not isinstance(index, int) or index < 0:
            raise ConfigurationError(f"chaos() indexes are effect numbers >= 0, got {index!r}")
        if isinstance(fault, str):
            if fault not in _KINDS:
                raise ConfigurationError(f"unknown fault {fault!r}; choose from {', '.join(_KINDS)}")
            fault = Fault(kind=fault)
        if not isinstance(fault, Fault):
            raise ConfigurationError(f"chaos() values are Fault(...) or a fault name, got {fault!r}")
        table[index] = fault
    types = tuple(effects)
    for t in types:
        if not (isinstance(t, type) and issubclass(t, Effect)):
            raise ConfigurationError(f"chaos(effects=...) takes effect types such as ModelCall, got {t!r}")
    return Chaos(faults=table, effects=types)
