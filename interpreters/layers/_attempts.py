"""`journal_attempts`: journal each attempt of a retry inside a durable run.

A durable run journals the effects it hands to the whole interpreter stack,
so a ``retry`` layer inside that stack is invisible to it: the journal sees
one attempt. Put ``journal_attempts()`` *inside* the retry layer
(``stack(retry(...), journal_attempts(), ...)``) and every attempt after the
first is journalled as its own ``Intent`` (attempt 2, 3, ...), every failed
one as a ``Failure`` (``raised``, ``timeout``, ``cancelled``), and the outcome
names the attempt that succeeded. A retried tool call goes down carrying
its attempt number, so the tool's ``ToolContext.attempt`` follows.
Outside a durable run, or for an effect the run did not hand down itself, the
layer only passes effects on.
"""

from __future__ import annotations

from typing import TypeVar, cast, final

from interpreters._durable import failure
from interpreters._in_flight import DEMAND, current
from interpreters._types import Interpreter
from tower_llm_fx import Effect, ToolCall, ToolResult
from tower_llm_fx.durable import Failure, FailureKind, keyed, new_intent

__all__ = ["journal_attempts"]

R = TypeVar("R")


@final
class _Attempts:
    __slots__ = ("_inner",)

    def __init__(self, inner: Interpreter) -> None:
        self._inner = inner

    def __repr__(self) -> str:
        return f"journal_attempts()({self._inner!r})"

    async def __call__(self, effect: Effect[R], /) -> R:
        flight = current.get()
        if flight is None or flight.effect is not effect:
            return await self._inner(effect)
        down: Effect[R] = effect
        if flight.seen:  # the retry layer above tries again: a new attempt
            last = flight.last
            if flight.failed != flight.attempt and isinstance(last, ToolResult) and last.error is not None:
                # A tool is retried on an error *result*: that attempt failed too.
                kind: FailureKind = "timeout" if last.error.kind == "timeout" else "raised"
                await flight.append(
                    Failure(
                        at=flight.at,
                        call=flight.call,
                        attempt=flight.attempt,
                        kind=kind,
                        message=last.content,
                    )
                )
            flight.attempt += 1
            await flight.append(
                new_intent(flight.at, flight.call, flight.attempt, flight.asked, flight.idempotency_key)
            )
            if type(effect) is ToolCall and effect.context is not None and flight.idempotency_key is not None:
                # The retried call goes down carrying its attempt number (its ToolContext.attempt);
                # a call that came without one (its tool takes none) goes down as it came.
                down = cast("Effect[R]", keyed(effect, flight.run_id, flight.idempotency_key, flight.attempt))
        flight.seen = True
        try:
            result = await self._inner(down)
        except BaseException as exc:
            await flight.append(failure(flight.at, flight.call, flight.attempt, exc))
            flight.failed = flight.attempt
            raise
        flight.last = result
        return result


@final
class _JournalAttempts:
    __slots__ = ()

    def __call__(self, inner: Interpreter) -> Interpreter:
        if not callable(inner):
            raise TypeError(f"journal_attempts() wraps an interpreter, got {inner!r}")
        DEMAND.attempts = True  # from now on durable runs say what is in flight
        return _Attempts(inner)

    def __repr__(self) -> str:
        return "journal_attempts()"


def journal_attempts() -> _JournalAttempts:
    """A layer journalling each attempt of a retry layer above it, in a durable run.

    >>> journal_attempts()
    journal_attempts()
    """
    return _JournalAttempts()
