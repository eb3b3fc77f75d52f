"""The `ToolContext` of the tool call being performed, for tools that declare one.

A durable run sets it around each tool call it performs (run id, idempotency
key, attempt); ``local_tools`` reads it when it calls a tool with a
``ToolContext`` parameter. It is a ``contextvars`` variable, so each call of
a ``Parallel`` batch (its own task) sees its own. Outside a durable run a
tool gets a context holding only the call's id. The variable holds a plain
tuple and the `ToolContext` is built only for a tool that asks for one (the
durable run's hot path stays cheap).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import TypeAlias

from tower_llm_fx import ToolCall
from tower_llm_fx.durable import ToolContext

__all__ = ["Current", "context_for", "current", "tool_context"]

Current: TypeAlias = "tuple[str, str | None, str | None, int] | None"
"""``(call_id, run_id, idempotency_key, attempt)`` of the call being performed, or ``None``."""

current: ContextVar[Current] = ContextVar("tower_llm_fx_tool_context", default=None)
"""Set it with ``token = current.set(...)`` and ``current.reset(token)`` (the durable run does)."""


@contextmanager
def tool_context(context: ToolContext) -> Iterator[None]:
    """Make ``context`` the one a tool answering call ``context.call_id`` receives, inside the block."""
    token: Token[Current] = current.set(
        (context.call_id, context.run_id, context.idempotency_key, context.attempt)
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
    if now is not None and now[0] == call.id:
        return ToolContext(call_id=now[0], run_id=now[1], idempotency_key=now[2], attempt=now[3])
    return ToolContext(call_id=call.id)
