"""`fallback`: when the inner interpreter fails with a retryable error, try another one.

Typical use: a second provider or a cheaper model when the first is rate
limited, down, or its circuit breaker is open. Chain several by stacking:
``stack(fallback(c), fallback(b))(a)`` tries ``a``, then ``b``, then ``c``.
If the alternative fails too, its error propagates with the first failure as
its ``__context__``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast, final

import attrs

from interpreters._event_sink import discard_attempt
from interpreters._types import Interpreter
from tower_llm_fx import ConfigurationError, Effect, ModelCall
from tower_llm_fx.resilience import CircuitOpen, is_transient

__all__ = ["fallback"]

R = TypeVar("R")


def _default_when(error: BaseException) -> bool:
    return is_transient(error) or isinstance(error, CircuitOpen)


@final
@attrs.frozen
class _Fallback:
    alternative: Interpreter
    model: str | None
    when: Callable[[BaseException], bool]
    effects: tuple[type[Any], ...]

    def __call__(self, inner: Interpreter) -> Interpreter:
        return _FallbackInterpreter(inner, self)

    def __repr__(self) -> str:
        model = f", model={self.model!r}" if self.model is not None else ""
        return f"fallback({self.alternative!r}{model})"


@final
@attrs.frozen
class _FallbackInterpreter:
    inner: Interpreter
    layer: _Fallback

    async def __call__(self, effect: Effect[R], /) -> R:
        layer = self.layer
        if type(effect) not in layer.effects:
            return await self.inner(effect)
        try:
            return await self.inner(effect)
        except Exception as exc:
            if not layer.when(exc):
                raise
            await discard_attempt(exc)
            if layer.model is not None and isinstance(effect, ModelCall):
                effect = cast("Effect[R]", attrs.evolve(effect, model=layer.model))
            return await layer.alternative(effect)

    def __repr__(self) -> str:
        return f"{self.layer!r}({self.inner!r})"


def fallback(
    alternative: Interpreter,
    *,
    model: str | None = None,
    when: Callable[[BaseException], bool] | None = None,
    effects: Iterable[type[Any]] = (ModelCall,),
) -> _Fallback:
    """A layer that sends an effect to ``alternative`` when the inner interpreter fails.

    Args:
        alternative: the interpreter to try second.
        model: for a ``ModelCall``, the model name to ask the alternative for
            (default: the same model).
        when: which failures switch over (default: retryable ones — 429, 5xx,
            timeouts, connection errors — and an open circuit breaker). A 400
            or a 401 is not retried elsewhere: the request itself is at fault.
        effects: effect types this applies to (default: model calls).

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import fixed, function
    >>> def down(call):
    ...     raise fx.ProviderError("overloaded", status=529)
    >>> model = fallback(fixed("from the backup"), model="small-model")(function(down))
    >>> trio.run(model, fx.ModelCall(model="big-model", messages=[fx.user("hi")])).message.content
    'from the backup'
    """
    if not callable(alternative):
        raise ConfigurationError(f"fallback() needs an interpreter to fall back on, got {alternative!r}")
    types = tuple(effects)
    for t in types:
        if not (isinstance(t, type) and issubclass(t, Effect)):
            raise ConfigurationError(f"fallback(effects=...) takes effect types such as ModelCall, got {t!r}")
    return _Fallback(alternative=alternative, model=model, when=when or _default_when, effects=types)
