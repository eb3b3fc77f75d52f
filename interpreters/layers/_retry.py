"""`retry`: perform an effect again after a transient failure, sleeping in between.

The decisions (is this failure retryable? how long to wait?) come from the
pure `tower_llm_fx.resilience.RetryPolicy`; this module only sleeps and loops. Only effects
that are safe to repeat are retried: model calls (on by default) and tool
calls of tools declared idempotent. Cancellation is never retried (we catch
``Exception``, not ``BaseException``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any, TypeVar, cast, final

import anyio
import attrs

from interpreters._event_sink import discard_attempt
from interpreters._types import Interpreter
from tower_llm_fx import ConfigurationError, Effect, ModelCall, Tool, ToolCall, ToolResult
from tower_llm_fx.resilience import RetryPolicy

__all__ = ["retry"]

R = TypeVar("R")


@final
@attrs.define(eq=False)
class _Retry:
    policy: RetryPolicy
    models: bool
    idempotent: frozenset[str]
    _keys: itertools.count[int] = attrs.field(factory=itertools.count, init=False)

    def __call__(self, inner: Interpreter) -> Interpreter:
        return _RetryInterpreter(inner, self)

    def next_key(self) -> int:
        return next(self._keys)

    def __repr__(self) -> str:
        tools = f", tools={sorted(self.idempotent)}" if self.idempotent else ""
        return f"retry({self.policy!r}, models={self.models}{tools})"


@final
@attrs.define(eq=False)
class _RetryInterpreter:
    inner: Interpreter
    layer: _Retry

    def __repr__(self) -> str:
        return f"{self.layer!r}({self.inner!r})"

    async def __call__(self, effect: Effect[R], /) -> R:
        layer = self.layer
        if isinstance(effect, ModelCall):
            if layer.models:
                return cast("R", await self._on_exceptions(effect))
        elif isinstance(effect, ToolCall) and effect.name in layer.idempotent:
            return cast("R", await self._tool(effect))
        return await self.inner(effect)

    async def _on_exceptions(self, effect: Effect[Any]) -> Any:
        policy, key, attempt = self.layer.policy, self.layer.next_key(), 1
        while True:
            try:
                return await self.inner(effect)
            except Exception as exc:
                delay = policy.decide(attempt, exc, key=key)
                if delay is None:
                    raise
                await discard_attempt(exc)  # a stream reader learns the deltas so far are void
            await anyio.sleep(delay)
            attempt += 1

    async def _tool(self, call: ToolCall) -> ToolResult:
        policy, key, attempt = self.layer.policy, self.layer.next_key(), 1
        while True:
            try:
                result = await self.inner(call)
            except Exception as exc:
                delay = policy.decide(attempt, exc, key=key)
                if delay is None:
                    raise
            else:
                delay = (
                    policy.decide_tool(attempt, result, key=key) if isinstance(result, ToolResult) else None
                )
                if delay is None:
                    return result
            await anyio.sleep(delay)
            attempt += 1


def _names(tools: Iterable[Tool | str]) -> frozenset[str]:
    names: set[str] = set()
    for i, t in enumerate(tools):
        if isinstance(t, Tool):
            if t.idempotent:
                names.add(t.name)
        elif isinstance(t, str):
            names.add(t)
        else:
            raise ConfigurationError(
                f"retry(tools=...) item {i} is {t!r}; pass Tool objects (those declared idempotent "
                "are retried) or tool names you know to be idempotent"
            )
    return frozenset(names)


def retry(
    policy: RetryPolicy | None = None, *, models: bool = True, tools: Iterable[Tool | str] = ()
) -> _Retry:
    """A layer that retries transient failures according to ``policy``.

    Args:
        policy: when and how long to wait (default ``RetryPolicy()``: 3 attempts,
            0.5 s doubling, full jitter, honouring ``Retry-After``).
        models: retry ``ModelCall`` on retryable errors (429, 5xx, timeouts, ...).
        tools: tools whose calls may be repeated: ``Tool`` objects count if declared
            ``idempotent=True`` (pass ``agent.tools``), strings are names you vouch for.
            Their calls are retried on retryable exceptions and on error results
            whose kind is in ``policy.retry_tool_errors``. Each call of a
            ``Parallel`` batch comes through on its own, so only the calls that
            failed run again.

    Put it *outside* ``timeout`` (so each attempt gets its own deadline) and
    *inside* ``tracing`` (so one span covers all attempts).

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import function
    >>> failures = [fx.ProviderError("busy", status=503)]
    >>> def flaky(call):
    ...     if failures:
    ...         raise failures.pop()
    ...     return "ok"
    >>> model = retry(fx.resilience.RetryPolicy(initial_delay=0.0))(function(flaky))
    >>> trio.run(model, fx.ModelCall(model="m", messages=[fx.user("hi")])).message.content
    'ok'
    """
    if policy is None:
        policy = RetryPolicy()
    if not isinstance(policy, RetryPolicy):
        raise ConfigurationError(f"retry() takes a RetryPolicy(...), got {policy!r}")
    return _Retry(policy=policy, models=bool(models), idempotent=_names(tools))
