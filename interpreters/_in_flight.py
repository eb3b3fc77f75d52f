"""The effect a durable run is performing, and the context its tool calls carry.

A durable run hands each tool call down the interpreter stack with its
`ToolContext` on the effect (``ToolCall.context``: run id, idempotency key,
attempt), built by ``tower_llm_fx.durable.keyed``; ``local_tools`` gives it to a tool that declares a
``ToolContext`` parameter, so what a tool learns is part of the effect it
answers. A call of a tool the program defines only without such a parameter
carries none (``context_free_tools``: nothing would read it). Outside a
durable run a call carries no context and the tool gets one holding only the
call's id.

The run also sets `current` to an `InFlight` around each effect it performs:
the handle of its journal for the ``journal_attempts`` layer, which journals
each retry as an attempt (and hands the retried call down with the next
attempt number). It is a ``contextvars`` variable, so each call of a
``Parallel`` batch (its own task) sees its own. No interpreter needs it to
perform an effect; only that layer reads it, so a run sets it only once a
``journal_attempts`` layer exists in the process (`DEMAND`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, final

from tower_llm_fx import Effect
from tower_llm_fx.durable import Entry

__all__ = ["DEMAND", "InFlight", "current"]


@final
class InFlight:
    """The effect at position ``(at, call)`` of run ``run_id``, now in attempt ``attempt``."""

    __slots__ = (
        "append",
        "asked",
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
        append: Callable[[Entry], Awaitable[None]],
        run_id: str,
        at: int,
        call: int | None,
        asked: Effect[Any],
        effect: Effect[Any],
        idempotency_key: str | None,
        attempt: int,
    ) -> None:
        self.append = append  # the run's journal append
        self.run_id = run_id
        self.at = at
        self.call = call
        self.asked = asked  # the effect as the program returned it (what the journal holds)
        self.effect = effect  # as handed down the stack (a tool call carries its context)
        self.idempotency_key = idempotency_key
        self.attempt = attempt
        self.failed = 0  # the last attempt whose failure is journalled already
        self.seen = False  # journal_attempts saw an attempt start: the next one is a retry
        self.last: object = None  # what the last attempt returned (a retried tool's error result)


@final
class _Demand:
    """Whether anything reads `current`: a durable run sets it only then (it costs a little per effect)."""

    __slots__ = ("attempts",)

    def __init__(self) -> None:
        self.attempts = False  # set for good once a journal_attempts layer wraps an interpreter


DEMAND = _Demand()

current: ContextVar[InFlight | None] = ContextVar("tower_llm_fx_in_flight", default=None)
"""Set with ``token = current.set(...)``, reset with ``current.reset(token)`` (the durable run does)."""
