"""`perform`: carry out one effect with an interpreter; a `Parallel` batch call by call.

Theory of operation: a ``Parallel`` batch is not an effect any interpreter
or layer has to know. `perform` opens one task group and sends *each* child
``ToolCall`` through the whole interpreter, so every layer (retry, timeout,
approvals, limit, tracing, recording, ...) works per call and sees only
``ToolCall``. The batch keeps its meaning here, in one place:

* results come back in call order, whatever order the calls finished in;
* at most ``limit`` calls are in flight (an anyio ``CapacityLimiter``);
* ``JOIN_ALL`` lets every call finish; ``FAIL_FAST`` cancels the calls still
  running once one returns an error result, and answers each of those with a
  ``"cancelled"`` error that names the call that failed;
* a call that finished keeps its real result, whatever happens to a sibling
  (a sibling's own timeout is that sibling's ``"timeout"`` result).

Every tool call is answered exactly once. An exception from a call (not an
error result: a raised exception, such as a model-level failure of a layer)
cancels the siblings and propagates, as in any task group; it is raised as
itself, not wrapped in an ``ExceptionGroup``.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

import anyio

from tower_llm_fx import Effect, JoinPolicy, Parallel, ToolResult, WrongResultType

from ._types import Interpreter

__all__ = ["perform", "perform_parallel"]

R = TypeVar("R")


async def perform(interpreter: Interpreter, effect: Effect[R], /) -> R:
    """Carry out ``effect`` with ``interpreter``; a `Parallel` goes call by call (`perform_parallel`).

    ``run`` and ``stream`` perform every effect this way. Call it yourself
    when you drive an interpreter by hand and may meet a batch.

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import local_tools
    >>> @fx.tool
    ... def double(x: int) -> int:
    ...     "Double x."
    ...     return 2 * x
    >>> calls = [fx.ToolCall(id=f"c{i}", name="double", arguments=f'{{"x": {i}}}') for i in range(3)]
    >>> results = trio.run(perform, local_tools([double]), fx.Parallel(calls=calls))
    >>> [r.content for r in results]
    ['0', '2', '4']
    """
    if type(effect) is Parallel:
        return cast("R", await perform_parallel(interpreter, effect))
    return await interpreter(effect)


async def perform_parallel(interpreter: Interpreter, batch: Parallel, /) -> tuple[ToolResult, ...]:
    """Run each call of ``batch`` through ``interpreter`` in one task group; results in call order.

    Raises:
        WrongResultType: the interpreter answered a call with something other
            than a `ToolResult` for that call.
        Exception: whatever a call raised (the siblings are cancelled first).
    """
    if not isinstance(batch, Parallel):
        raise TypeError(f"perform_parallel() takes a Parallel, got {type(batch).__name__}")
    calls = batch.calls
    n = len(calls)
    results: list[ToolResult | None] = [None] * n
    if n == 0:
        return ()
    limiter = anyio.CapacityLimiter(batch.limit) if batch.limit is not None and batch.limit < n else None
    fail_fast = batch.join is JoinPolicy.FAIL_FAST
    failed: list[ToolResult] = []
    errors: list[Exception] = []

    async def one(i: int, scope: anyio.CancelScope) -> None:
        call = calls[i]
        try:
            if limiter is not None:
                async with limiter:
                    result: Any = await interpreter(call)
            else:
                result = await interpreter(call)
        except Exception as exc:  # cancellation passes through
            errors.append(exc)
            scope.cancel()
            return
        if type(result) is not ToolResult:
            errors.append(_wrong(interpreter, i, call.name, result))
            scope.cancel()
            return
        results[i] = result
        if fail_fast and result.is_error:
            failed.append(result)
            scope.cancel()

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i, tg.cancel_scope)
    if errors:
        raise errors[0]
    if failed or None in results:
        first = failed[0] if failed else None
        reason = (
            f"cancelled because tool call {first.call_id!r} ({first.name}) failed "
            "and the join policy is FAIL_FAST"
            if first is not None
            else "cancelled"
        )
        for i, call in enumerate(calls):
            if results[i] is None:
                results[i] = ToolResult.failure(call_id=call.id, name=call.name, kind="cancelled", message=reason)
    return cast("tuple[ToolResult, ...]", tuple(results))


def _wrong(interpreter: Interpreter, i: int, name: str, result: object) -> Exception:
    return WrongResultType(
        f"{interpreter!r} returned {type(result).__name__} for calls[{i}] ({name}) of a Parallel; "
        "expected a ToolResult"
    )
