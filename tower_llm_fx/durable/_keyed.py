"""A tool call carrying its `ToolContext`: how a tool learns its run id, idempotency key and attempt.

Theory of operation: a step returns a plain ``ToolCall``; a durable run
hands it down the interpreter stack as `keyed` returns it, with
``ToolCall.context`` set (the context is not part of ``==``, so the call
still equals the one the step returned and a recording of it replays
anywhere). ``local_tools`` gives a tool that declares a ``ToolContext``
parameter `context_of` its call. (A durable run keys no call of a tool in
``context_free_tools(program)``: nothing the program defines would read it.) Pure; built without re-running the
validators, since every field comes from a validated value (the durable
run's hot path).
"""

from __future__ import annotations

from collections.abc import Callable

from tower_llm_fx import ToolCall
from tower_llm_fx._context import ToolContext
from tower_llm_fx._unchecked import unchecked_factory

__all__ = ["context_of", "keyed"]

_call: Callable[..., ToolCall] = unchecked_factory(ToolCall, "id", "name", "arguments", "agent", "context")
_context: Callable[..., ToolContext] = unchecked_factory(
    ToolContext, "call_id", "run_id", "idempotency_key", "attempt"
)


def keyed(call: ToolCall, run_id: str, idempotency_key: str, attempt: int) -> ToolCall:
    """``call`` carrying its durable-run context (an equal call: the context is not part of ``==``).

    >>> from tower_llm_fx import ToolCall
    >>> call = keyed(ToolCall(id="c1", name="pay"), "r", "r/0/c1", 2)
    >>> call.context, call == ToolCall(id="c1", name="pay")
    (ToolContext(call_id='c1', run_id='r', idempotency_key='r/0/c1', attempt=2), True)
    """
    if type(call) is not ToolCall:
        raise TypeError(f"keyed() takes a ToolCall, got {type(call).__name__}")
    context = _context(call.id, run_id, idempotency_key, attempt)
    return _call(call.id, call.name, call.arguments, call.agent, context)


def context_of(call: ToolCall) -> ToolContext:
    """The context a tool answering ``call`` receives: the one it carries, else one holding its id.

    >>> from tower_llm_fx import ToolCall
    >>> context_of(ToolCall(id="c1", name="add"))
    ToolContext(call_id='c1', run_id=None, idempotency_key=None, attempt=1)
    """
    context = call.context
    return context if context is not None else _context(call.id, None, None, 1)
