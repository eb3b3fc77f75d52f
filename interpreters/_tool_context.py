"""The effect a durable run is performing, for the tools and layers below it that ask.

A durable run sets `current` to an `InFlight` around each effect it performs:
``local_tools`` reads it when it calls a tool with a ``ToolContext``
parameter (run id, idempotency key, attempt), and the ``journal_attempts``
layer reads it to journal each retry as an attempt. It is a ``contextvars``
variable, so each call of a ``Parallel`` batch (its own task) sees its own.
Outside a durable run a tool gets a context holding only the call's id; the
`ToolContext` is built only for a tool that asks for one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, final

from tower_llm_fx import Effect, ToolCall
from tower_llm_fx.durable import Entry, ToolContext

__all__ = ["InFlight", "context_for", "current", "tool_context"]


@final
class InFlight:
    """The effect at position ``(at, call)`` of run ``run_id``, now in attempt ``attempt``."""

    __slots__ = (
        "append",
        "at",
        "attempt",
        "call",
        "effect",
        "failed",
        "idempotency_key",
        "last",
        "run_id",
        "seen",
    )

    def __init__(
        self,
        append: Callable[[Entry], Awaitable[None]] | None,
        run_id: str | None,
        at: int,
        call: int | None,
        effect: Effect[Any],
        idempotency_key: str | None,
        attempt: int,
    ) -> None:
        self.append = append  # the run's journal append (None: nothing to journal)
        self.run_id = run_id
        self.at = at
        self.call = call
        self.effect = effect
        self.idempotency_key = idempotency_key
        self.attempt = attempt
        self.failed = 0  # the last attempt whose failure is journalled already
        self.seen = False  # journal_attempts saw an attempt start: the next one is a retry
        self.last: object = None  # what the last attempt returned (a retried tool's error result)


current: ContextVar[InFlight | None] = ContextVar("tower_llm_fx_in_flight", default=None)
"""Set with ``token = current.set(...)``, reset with ``current.reset(token)`` (the durable run does)."""


@contextmanager
def tool_context(context: ToolContext) -> Iterator[None]:
    """Make ``context`` the one a tool answering call ``context.call_id`` receives, inside the block."""
    call = ToolCall(id=context.call_id, name="-")
    token = current.set(
        InFlight(None, context.run_id, 0, None, call, context.idempotency_key, context.attempt)
    )
    try:
        yield
    finally:
        current.reset(token)


def context_for(call: ToolCall) -> ToolContext:
    """The context of ``call``: the one a durable run set for it, else one holding only its id.

    >>> context_for(ToolCall(id="c1", name="add"))
    ToolContext(call_id='c1', run_id=None, idempotency_key=None, attempt=1)
    """
    now = current.get()
    if now is not None and type(now.effect) is ToolCall and now.effect.id == call.id:
        return ToolContext(
            call_id=call.id, run_id=now.run_id, idempotency_key=now.idempotency_key, attempt=now.attempt
        )
    return ToolContext(call_id=call.id)
