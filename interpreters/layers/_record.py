"""`record`: the layer that journals every exchange into a trace store.

The layer sees each effect and, once the inner interpreter has answered it,
appends ``Exchange(effect, result)`` to the trace *before* handing the result
back, so a run that crashes leaves every exchange it completed. A failed
effect (the inner interpreter raised, or was cancelled) records nothing.

The calls of a ``Parallel`` batch come through one by one (``perform``
sends each through the stack), so each is its own exchange. Exchanges are
written in completion order; if several effects go through one recorder at
once, their appends are queued so each trace stays a clean, gap-free
sequence. A write is shielded from cancellation: a call that finished is
journaled even if a failing sibling cancels the batch meanwhile.

Secrets: effects carry no API keys or headers (interpreters own those), and
file and SQLite stores scrub credential-like values when they encode a line.
``redact=`` masks more, for every store, before anything is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar, final

import anyio

from interpreters._types import Interpreter
from interpreters.stores._traces import TraceStore
from tower_llm_fx import Agent, Effect, ModelCall, ModelReply, WrongResultType
from tower_llm_fx.serde import DEFAULT
from tower_llm_fx.trace import (
    Redactor,
    TraceMeta,
    check_result,
    check_trace_id,
    new_exchange,
    redact_exchange,
)

__all__ = ["new_trace_id", "record"]

R = TypeVar("R")


def new_trace_id() -> str:
    """A fresh, sortable trace id: UTC time plus a random suffix, e.g. ``20250101T120000Z-1a2b3c4d``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


@final
class _Record:
    """The ``record(...)`` layer: one trace, shared by every interpreter it wraps."""

    def __init__(
        self,
        store: TraceStore,
        trace_id: str,
        agent: str | None,
        model: str | None,
        tags: Mapping[str, str] | None,
        redact: Redactor | None,
    ) -> None:
        self.store = store
        self.trace_id = trace_id
        self.redact = redact
        self._agent = agent
        self._model = model
        self._tags = TraceMeta(tags=tags).tags  # validate now, not at the first effect
        self._begun = False
        self._written = 0  # exchanges appended so far (the next index)
        self._tickets = 0  # writes handed out (the header is ticket 0)
        self._finished: set[int] = set()
        self._turn = 0  # the ticket whose write may go now
        self._waiters: dict[int, anyio.Event] = {}
        # Set after the header is written, for stores that do no I/O (MemoryTraceStore).
        self._sink: tuple[list[Effect[Any]], list[Any]] | None = None

    def __repr__(self) -> str:
        return f"record(into={self.store!r}, trace_id={self.trace_id!r})"

    def __call__(self, inner: Interpreter) -> Interpreter:
        if not callable(inner):
            raise TypeError(f"record(...) wraps an interpreter, got {inner!r}")
        return _Recording(self, inner)

    @property
    def recorded(self) -> int:
        """Exchanges written to the trace so far."""
        return len(self._sink[0]) if self._sink is not None else self._written

    def meta(self) -> TraceMeta:
        """The header this layer writes (``created_at`` is now)."""
        return TraceMeta(
            created_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
            agent=self._agent,
            model=self._model,
            tags=self._tags,
        )

    # Writes go out in ticket order, whatever order the effects completed in.
    def _ticket(self) -> int:
        t = self._tickets
        self._tickets += 1
        return t

    async def _wait_turn(self, ticket: int) -> None:
        if self._turn != ticket:
            event = self._waiters[ticket] = anyio.Event()
            await event.wait()

    def _done(self, ticket: int) -> None:
        self._finished.add(ticket)
        while self._turn in self._finished:
            self._finished.discard(self._turn)
            self._turn += 1
        event = self._waiters.pop(self._turn, None)
        if event is not None:
            event.set()

    async def begin(self) -> None:
        self._begun = True
        ticket = self._ticket()
        ok = False
        try:
            await self.store.begin(self.trace_id, self.meta())
            ok = True
            sink = getattr(self.store, "_recorder_sink", None)
            if sink is not None and self.redact is None:
                self._sink = sink(self.trace_id)
        finally:
            self._begun = ok  # on failure the next effect tries again (and says why it fails)
            self._done(ticket)

    @staticmethod
    def wrong_result(effect: Effect[Any], exc: TypeError, inner: Interpreter) -> WrongResultType:
        return WrongResultType(f"{inner!r} answered {type(effect).__name__} wrongly: {exc}")

    async def write(self, effect: Effect[Any], result: object, inner: Interpreter) -> None:
        try:
            exchange = new_exchange(effect, result)
        except TypeError as exc:
            raise self.wrong_result(effect, exc, inner) from None
        if self.redact is not None:
            exchange = redact_exchange(exchange, self.redact, codec=getattr(self.store, "codec", DEFAULT))
        ticket = self._ticket()
        try:
            with anyio.CancelScope(shield=True):
                if self._turn != ticket:
                    await self._wait_turn(ticket)
                await self.store.append(self.trace_id, self._written, exchange)
                self._written += 1
        finally:
            self._done(ticket)


@final
class _Recording:
    __slots__ = ("_appends", "_inner", "_record")

    def __init__(self, record: _Record, inner: Interpreter) -> None:
        self._record = record
        self._inner = inner
        # (effects.append, results.append) once the header is written to a store
        # that does no I/O: the fast path, with nothing to await.
        self._appends: tuple[Callable[[Effect[Any]], None], Callable[[Any], None]] | None = None

    def __repr__(self) -> str:
        return f"{self._record!r}({self._inner!r})"

    async def __call__(self, effect: Effect[R], /) -> R:
        appends = self._appends
        if appends is None:
            return await self._call(effect)
        result = await self._inner(effect)
        if (type(result) is not ModelReply or type(effect) is not ModelCall) and not isinstance(
            result, effect.result_type
        ):
            problem = check_result(effect, result)
            if problem is not None:
                raise self._record.wrong_result(effect, TypeError(problem), self._inner)
        appends[0](effect)
        appends[1](result)
        return result

    async def _call(self, effect: Effect[R]) -> R:
        rec = self._record
        if not rec._begun:
            await rec.begin()
        if rec._sink is not None:
            # Only the header used a write ticket, so nothing can be queued: from
            # now on every exchange takes the fast path.
            self._appends = (rec._sink[0].append, rec._sink[1].append)
            return await self(effect)
        result = await self._inner(effect)
        await rec.write(effect, result, self._inner)
        return result


def record(
    into: TraceStore,
    trace_id: str | None = None,
    *,
    agent: Agent | str | None = None,
    model: str | None = None,
    tags: Mapping[str, str] | None = None,
    redact: Redactor | None = None,
) -> _Record:
    """A layer that records every exchange into trace ``trace_id`` of store ``into``.

    Args:
        into: a `TraceStore` (`MemoryTraceStore`, `DirectoryTraceStore`, ``SqliteTraceStore``).
        trace_id: the id to record under; a fresh one (`new_trace_id`) if omitted.
            Read it back from ``layer.trace_id``. An existing trace is never
            overwritten: the first effect raises ``TraceExists``.
        agent: an `Agent` (its name and model go in the header) or a name.
        model: the model name for the header (default: the agent's).
        tags: free-form ``str → str`` labels for the header.
        redact: a hook masking each exchange before it is stored; it gets
            ``{"effect": <JSON>, "result": <JSON>}`` and returns it masked. Mask a
            value the same way wherever it appears, or replays will diverge.

    The layer object also has ``recorded`` (exchanges written so far).

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters.stores import MemoryTraceStore
    >>> from interpreters import fixed
    >>> from interpreters.layers import record
    >>> store = MemoryTraceStore()
    >>> layer = record(into=store, trace_id="t1")
    >>> model = layer(fixed("hi"))
    >>> trio.run(model, fx.ModelCall(model="m", messages=[fx.user("hello")])).message.content
    'hi'
    >>> [ex.result.message.content for ex in trio.run(store.load, "t1").exchanges]
    ['hi']
    """
    if isinstance(agent, Agent):
        model = agent.model if model is None else model
        agent_name: str | None = agent.name
    else:
        agent_name = agent
    for name, value in (("agent", agent_name), ("model", model)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"record(): {name} must be a str, got {value!r}")
    if redact is not None and not callable(redact):
        raise TypeError(f"record(): redact must be a function of the exchange's JSON, got {redact!r}")
    return _Record(
        into,
        check_trace_id(new_trace_id() if trace_id is None else trace_id),
        agent_name,
        model,
        tags,
        redact,
    )
