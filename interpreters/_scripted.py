"""Scripted model interpreters: `fixed`, `sequence` and `function`.

They answer ``ModelCall`` without a network, for demos, tests and notebooks
(tower-llm's ``FixedProvider`` and ``SequenceProvider``).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeAlias, TypeVar, cast, final

import attrs

from tower_llm_fx import AssistantMessage, Effect, ModelCall, ModelReply, ScriptExhausted, UnhandledEffect

__all__ = ["Reply", "fixed", "function", "sequence"]

R = TypeVar("R")

Reply: TypeAlias = ModelReply | AssistantMessage | str
"""What a script may hold: a full `ModelReply`, an assistant message, or just text."""


def _as_reply(value: object, where: str) -> ModelReply:
    if isinstance(value, ModelReply):
        return value
    if isinstance(value, AssistantMessage):
        return ModelReply(message=value, finish_reason="tool_calls" if value.tool_calls else "stop")
    if isinstance(value, str):
        return ModelReply(message=AssistantMessage(content=value))
    raise TypeError(f"{where}: {value!r} is not a reply; use a str, an AssistantMessage or a ModelReply")


def _only_model_calls(name: str, effect: Effect[Any]) -> ModelCall:
    if not isinstance(effect, ModelCall):
        raise UnhandledEffect(
            f"{name} only answers ModelCall, got {type(effect).__name__}; combine it with a tool "
            "interpreter: by_type({ModelCall: ..., ToolCall: tools, Parallel: tools})"
        )
    return effect


@final
@attrs.frozen(eq=False)
class _Fixed:
    reply: ModelReply

    async def __call__(self, effect: Effect[R], /) -> R:
        _only_model_calls("fixed()", effect)
        return cast("R", self.reply)

    def __repr__(self) -> str:
        return f"fixed({self.reply.message.content!r})"


def fixed(reply: Reply) -> _Fixed:
    """Answer every ``ModelCall`` with the same reply (tower-llm's ``FixedProvider``).

    >>> import trio, tower_llm_fx as fx
    >>> trio.run(fixed("hello"), fx.ModelCall(model="m", messages=[fx.user("hi")])).message.content
    'hello'
    """
    return _Fixed(_as_reply(reply, "fixed()"))


@final
@attrs.define(eq=False)
class _Sequence:
    replies: tuple[ModelReply, ...]
    used: int = 0

    async def __call__(self, effect: Effect[R], /) -> R:
        call = _only_model_calls("sequence()", effect)
        if self.used >= len(self.replies):
            last = call.messages[-1] if call.messages else None
            raise ScriptExhausted(
                f"sequence() holds {len(self.replies)} replies and all were used; model call "
                f"#{self.used + 1} (last message: {last!r}) has no reply. Add a reply to the "
                "script, or check the agent's stop policy."
            )
        reply = self.replies[self.used]
        self.used += 1
        return cast("R", reply)

    @property
    def remaining(self) -> int:
        """Replies not handed out yet."""
        return len(self.replies) - self.used

    def assert_consumed(self) -> None:
        """Raise ``AssertionError`` if some scripted replies were never asked for."""
        if self.remaining:
            raise AssertionError(
                f"sequence() has {self.remaining} unused replies; the run made {self.used} model "
                f"calls, the next unused reply is {self.replies[self.used].message!r}"
            )

    def __repr__(self) -> str:
        return f"sequence(<{len(self.replies)} replies, {self.used} used>)"


def sequence(replies: Iterable[Reply]) -> _Sequence:
    """Answer successive ``ModelCall``s with successive replies (``SequenceProvider``).

    Running out raises ``ScriptExhausted``; `assert_consumed` checks nothing was left.
    """
    return _Sequence(tuple(_as_reply(r, f"sequence() reply #{i}") for i, r in enumerate(replies)))


@final
@attrs.frozen(eq=False)
class _Function:
    fn: Callable[[ModelCall], Reply | Awaitable[Reply]]

    async def __call__(self, effect: Effect[R], /) -> R:
        call = _only_model_calls("function()", effect)
        out = self.fn(call)
        if type(out) is ModelReply:
            return cast("R", out)
        if inspect.isawaitable(out):
            out = await out
        return cast("R", _as_reply(out, f"function({getattr(self.fn, '__name__', self.fn)!r})"))

    def __repr__(self) -> str:
        return f"function({getattr(self.fn, '__name__', self.fn)})"


def function(fn: Callable[[ModelCall], Reply | Awaitable[Reply]]) -> _Function:
    """Answer each ``ModelCall`` with ``fn(call)``; ``fn`` may be sync or async.

    Use it for models whose reply depends on the conversation, e.g. echoing the
    last user message.
    """
    if not callable(fn):
        raise TypeError(f"function() needs a callable taking a ModelCall, got {fn!r}")
    return _Function(fn)
