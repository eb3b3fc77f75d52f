"""`perform`: carry out one effect with an interpreter; a `Parallel` batch call by call.

Theory of operation: a ``Parallel`` batch is not an effect any interpreter
or layer has to know. `perform` opens one task group and sends *each* child
``ToolCall`` through the whole interpreter, so every layer (retry, timeout,
approvals, limit, tracing, recording, ...) works per call and sees only
``ToolCall``. The batch keeps its meaning here, in one place:

* results come back in call order, whatever order the calls finished in;
* at most ``limit`` calls are in flight (an anyio ``CapacityLimiter``);
* ``JOIN_ALL`` lets every call finish; ``FAIL_FAST`` cancels the calls still
  running once one returns an error result (and does not start the rest),
  and answers each of those with a ``"cancelled"`` error;
* a call that finished keeps its real result, whatever happens to a sibling
  (a sibling's own timeout is that sibling's ``"timeout"`` result).

Every tool call is answered exactly once. An exception from a call (not an
error result: a raised exception, such as a model-level failure of a layer)
cancels the siblings and propagates; it is raised as itself, never wrapped
in an ``ExceptionGroup``, on trio and asyncio alike (``KeyboardInterrupt``,
``SystemExit`` and a ``CancelledError`` a tool raises itself included).
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar, cast

import anyio

from tower_llm_fx import Effect, JoinPolicy, Parallel, ToolCall, ToolResult, WrongResultType

from ._types import Interpreter

__all__ = ["CANCELLED_BY_FAIL_FAST", "fail_fast_cancelled", "perform", "perform_parallel", "wrong_result"]

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


CANCELLED_BY_FAIL_FAST = "cancelled: another call of this batch failed and the join policy is FAIL_FAST"
"""The message of a call that `FAIL_FAST <JoinPolicy>` cancelled (or never started)."""


def fail_fast_cancelled(call: ToolCall) -> ToolResult:
    """The result of ``call`` when a failing sibling cancelled it (the same text live and in replay)."""
    return ToolResult.failure(
        call_id=call.id, name=call.name, kind="cancelled", message=CANCELLED_BY_FAIL_FAST
    )


def fails_batch(result: ToolResult) -> bool:
    """Whether ``result`` makes a FAIL_FAST batch stop: an error, other than ``"cancelled"``."""
    error = result.error
    return error is not None and error.kind != "cancelled"


async def perform_parallel(interpreter: Interpreter, batch: Parallel, /) -> tuple[ToolResult, ...]:
    """Run each call of ``batch`` through ``interpreter`` in one task group; results in call order.

    With a ``limit``, calls start in call order as slots free up. Under
    ``FAIL_FAST`` the first error result (other than ``"cancelled"``)
    cancels the calls in flight and those not started yet; each gets a
    ``"cancelled"`` result. A cancelled call leaves no exchange in a
    recording; ``replay`` answers it with the same ``"cancelled"`` result,
    and answers the others at once, so a recorded batch replays exactly.
    (With a ``limit`` below the batch size, which calls had started when
    the failure came depends on timing; a replay that differs raises
    ``ReplayMismatch``, never a silent difference.)

    Raises:
        WrongResultType: the interpreter answered a call with something other
            than a `ToolResult`.
        BaseException: whatever a call raised, bare (the siblings are cancelled
            first); ``KeyboardInterrupt`` and ``SystemExit`` included.
    """
    if not isinstance(batch, Parallel):
        raise TypeError(f"perform_parallel() takes a Parallel, got {type(batch).__name__}")
    calls = batch.calls
    n = len(calls)
    if n == 0:
        return ()
    results: list[ToolResult | None] = [None] * n
    fail_fast = batch.join is JoinPolicy.FAIL_FAST
    errors: list[BaseException] = []
    limiter = anyio.CapacityLimiter(batch.limit) if batch.limit is not None and batch.limit < n else None

    async def one(i: int, borrower: object | None, everything: anyio.CancelScope) -> None:
        call = calls[i]
        try:
            result: Any = await interpreter(call)
        except BaseException as exc:
            if _is_cancellation(exc):
                raise  # the task group absorbs its own; an outer one passes through
            # Anything else (KeyboardInterrupt and SystemExit too) stops the batch and is
            # raised bare after it, the same on trio and asyncio, never in a group.
            errors.append(exc)
            everything.cancel()
            return
        finally:
            if borrower is not None and limiter is not None:
                limiter.release_on_behalf_of(borrower)
        if type(result) is not ToolResult:
            errors.append(_wrong(interpreter, i, call.name, result))
            everything.cancel()
            return
        results[i] = result
        if fail_fast and fails_batch(result):
            everything.cancel()  # the calls in flight, those not started yet, and this loop

    async with anyio.create_task_group() as tg:
        for i in range(n):
            borrower: object | None = None
            if limiter is not None:
                borrower = object()
                await limiter.acquire_on_behalf_of(borrower)  # calls start in call order
            tg.start_soon(one, i, borrower, tg.cancel_scope)
    if errors:
        raise errors[0]
    out: list[ToolResult] = []
    for call, result in zip(calls, results, strict=True):
        out.append(result if result is not None else fail_fast_cancelled(call))
    return tuple(out)


def _is_cancellation(exc: BaseException) -> bool:
    """Whether ``exc`` is a real cancellation of this task (not a tool raising CancelledError itself)."""
    cancelled = anyio.get_cancelled_exc_class()
    if not isinstance(exc, cancelled):
        return False
    if cancelled is asyncio.CancelledError:  # asyncio: was this task really asked to stop?
        task = asyncio.current_task()
        return task is None or task.cancelling() > 0
    return True  # trio.Cancelled is only ever raised by trio


def wrong_result(interpreter: Interpreter, effect: Effect[Any], result: object) -> WrongResultType:
    """The error for ``interpreter`` answering ``effect`` with ``result``, not its ``result_type``."""
    expected = type(effect).result_type
    return WrongResultType(
        f"{interpreter!r} returned {type(result).__name__} for {type(effect).__name__}; "
        f"expected {expected.__name__}"
    )


def _wrong(interpreter: Interpreter, i: int, name: str, result: object) -> Exception:
    return WrongResultType(
        f"{interpreter!r} returned {type(result).__name__} for calls[{i}] ({name}) of a Parallel; "
        "expected a ToolResult"
    )
