"""Durable runs: journal every effect, resume after a crash, tools at most once.

Theory of operation: a durable run is the loop of ``run`` with the
interpreter wrapped, outermost, in a journaling interpreter. Before it
performs an effect it appends an ``Intent`` (effect, attempt, idempotency
key) to the journal; after, an ``Outcome`` or a ``Failure`` (raised,
cancelled, timed out). The calls of a ``Parallel`` batch go through it one by
one (``perform_parallel``), each at its own position ``(at, call)``, and the
batch's folded tuple is journalled too.

Resuming runs the same loop from the program's start: the pure step derives
the same effects at the same positions, and for each one the pure
``tower_llm_fx.durable.decide`` says what to do with what the journal holds:
replay a completed effect (no model call, no tool runs again), perform again
one whose outcome was lost if that is safe, ask the session store whether a
lost ``SaveSession`` is in it, and answer a lost non-idempotent tool call
with your reconciler's verdict or an ``outcome_unknown`` result. Since every
result a replay feeds back is the one the run folded in before, the state
after the replayed prefix is the state the uninterrupted run had.

Appends are serialised (one writer per run) and shielded from cancellation,
so a call that finished is journalled even while a sibling cancels the batch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any, Literal, TypeAlias, TypeVar, cast, final

import anyio

from tower_llm_fx import (
    ConfigurationError,
    Done,
    Effect,
    JoinPolicy,
    Parallel,
    Program,
    ToolCall,
    ToolResult,
)
from tower_llm_fx.durable import (
    CheckSaved,
    Entry,
    Failure,
    FailureKind,
    Intent,
    Key,
    Outcome,
    Reconcile,
    Replay,
    RunBegun,
    ToolContext,
    decide,
    fold_journal,
    idempotency_key,
    idempotent_tools,
    journal_input,
    keyed,
    new_intent,
    new_outcome,
    new_run_begun,
    outcome_unknown,
    reconcile_save,
)
from tower_llm_fx.sessions import LoadSession, SaveSession
from tower_llm_fx.testing import check_step_output

from ._in_flight import DEMAND, InFlight, current
from ._perform import fail_fast_cancelled, fails_batch, perform_parallel, wrong_result
from ._types import Interpreter
from .stores._journal import (
    INTENT,
    OUTCOME,
    JournalStore,
    Raw,
    journal_not_found,
    raw_begun,
    raw_intent,
    raw_outcome,
    sink_taken,
)

__all__ = ["Reconciler", "drive_durable", "failure", "resume", "run_durable"]

S = TypeVar("S")
R = TypeVar("R")

Reconciler: TypeAlias = Callable[[ToolCall, ToolContext], Awaitable["ToolResult | Literal['perform'] | None"]]
"""``async (call, context) -> ToolResult | "perform" | None`` for a tool call whose outcome a crash lost.

Return the call's result if you can tell what happened (ask the tool's
backend with ``context.idempotency_key``), ``"perform"`` if it certainly did
not happen (run it now), or ``None`` when you cannot tell (the model gets an
``outcome_unknown`` result)."""

_RESUME: Any = object()  # resume(): take the input from the journal


def _failure_kind(exc: BaseException) -> FailureKind:
    if isinstance(exc, anyio.get_cancelled_exc_class()):
        return "cancelled"
    return "timeout" if isinstance(exc, TimeoutError) else "raised"


def _describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:
        text = "(its message could not be built)"
    return f"{type(exc).__name__}: {text[:2000]}" if text else type(exc).__name__


def failure(at: int, call: int | None, attempt: int, exc: BaseException) -> Failure:
    """The `Failure` entry of attempt ``attempt`` at ``(at, call)``, which ended with ``exc``."""
    return Failure(at=at, call=call, attempt=attempt, kind=_failure_kind(exc), message=_describe(exc))


@final
class _Journaling:
    """The outermost interpreter of a durable run (one per run; the loop sets ``at``)."""

    def __init__(
        self,
        inner: Interpreter,
        journal: JournalStore,
        run_id: str,
        entries: tuple[Entry, ...],
        reconcile: Reconciler | None,
        idempotent: Collection[str],
        sink: list[object] | None,
    ) -> None:
        self.inner = inner
        self.journal = journal
        self.run_id = run_id
        self.slots = fold_journal(entries) if len(entries) > 1 else {}  # a new run: only RunBegun
        self.count = len(entries) if sink is None else len(sink)  # a sink's length counts items
        self.reconcile = reconcile
        self.idempotent = idempotent
        self.at = 0
        self.batch: Parallel | None = None
        self._lock: anyio.Lock | None = None
        # A store that does no I/O (MemoryJournal) hands out its list: appending to it needs no
        # await, so no lock, no shield and no task switch (the in-process fast path). Tuple
        # forms go in flat (stores._journal's docstring says why).
        self._sink = sink

    def __repr__(self) -> str:
        return f"durable({self.run_id!r}, journal={self.journal!r})({self.inner!r})"

    def put(self, entry: Raw) -> bool:
        """Append ``entry`` without awaiting, if the store allows it (the fast path); whether it did."""
        sink = self._sink
        if sink is None:
            return False
        if len(sink) != self.count:
            raise sink_taken(self.run_id, sink, self.count)
        if type(entry) is tuple:
            sink += entry
            self.count += len(entry)
        else:
            sink.append(entry)
            self.count += 1
        return True

    async def append(self, entry: Entry) -> None:
        if self.put(entry):
            return
        if self._lock is None:
            self._lock = anyio.Lock()
        with anyio.CancelScope(shield=True):
            async with self._lock:
                await self.journal.append(self.run_id, self.count, entry)
                self.count += 1

    async def __call__(self, effect: Effect[R], /) -> R:
        call: int | None = None
        batch = self.batch
        if batch is not None and type(effect) is ToolCall:
            call = next((i for i, c in enumerate(batch.calls) if c is effect), None)
        return cast("R", await self.perform(self.at, call, effect))

    async def perform(self, at: int, call: int | None, effect: Effect[Any]) -> Any:
        if not self.slots:  # nothing journalled before: a live run performs everything once
            return await self.live(at, call, effect, 1)
        decision = decide((at, call), effect, self.slots.get((at, call)), idempotent=self.idempotent)
        if type(decision) is Replay:
            return decision.result
        lost = decision.attempt - 1  # the attempt whose outcome a crash lost (if any)
        if type(decision) is Reconcile:
            assert type(effect) is ToolCall
            context = ToolContext(
                call_id=effect.id,
                run_id=self.run_id,
                idempotency_key=idempotency_key(self.run_id, at, effect.id),
                attempt=decision.attempt,
            )
            verdict = None if self.reconcile is None else await self.reconcile(effect, context)
            if isinstance(verdict, ToolResult):
                await self.append(Outcome(at=at, call=call, attempt=lost, result=verdict, how="reconciled"))
                return verdict
            if verdict != "perform":
                answer = outcome_unknown(effect, context.idempotency_key)
                await self.append(
                    Outcome(at=at, call=call, attempt=lost, result=answer, how="outcome_unknown")
                )
                return answer
        elif type(decision) is CheckSaved:
            assert type(effect) is SaveSession
            log = await self.inner(LoadSession(session_id=effect.session_id))
            saved = reconcile_save(effect, log)
            if saved is not None:
                await self.append(Outcome(at=at, call=call, attempt=lost, result=saved, how="reconciled"))
                return saved
        return await self.live(at, call, effect, decision.attempt)

    async def live(self, at: int, call: int | None, effect: Effect[Any], attempt: int) -> Any:
        down: Effect[Any] = effect
        ikey: str | None = None
        if type(effect) is ToolCall:
            ikey = f"{self.run_id}/{at}/{effect.id}"  # idempotency_key(), inlined (the hot path)
            down = keyed(effect, self.run_id, ikey, attempt)  # the tool's ToolContext rides on the call
        if not self.put(raw_intent(at, call, attempt, effect, ikey)):
            await self.append(new_intent(at, call, attempt, effect, ikey))  # before anything can happen
        flight: InFlight | None = None
        if DEMAND.attempts:  # a journal_attempts layer exists: tell it what is in flight
            flight = InFlight(self.append, self.run_id, at, call, effect, down, ikey, attempt)
        token = None if flight is None else current.set(flight)
        try:
            result = await self.inner(down)
        except BaseException as exc:
            if flight is None:
                await self.append(failure(at, call, attempt, exc))
            elif flight.failed != flight.attempt:  # not journalled by journal_attempts already
                await self.append(failure(at, call, flight.attempt, exc))
            raise
        finally:
            if token is not None:
                current.reset(token)
        if flight is not None:
            attempt = flight.attempt  # a retry inside the stack may have made more attempts
        if not isinstance(result, type(effect).result_type):
            raise wrong_result(self.inner, effect, result)
        if not self.put(raw_outcome(at, call, attempt, result)):
            await self.append(new_outcome(at, call, attempt, result))
        return result

    def settled(self, at: int, batch: Parallel) -> tuple[ToolResult, ...] | None:
        """The results of a ``FAIL_FAST`` batch the journal shows already failed, else ``None``.

        Once a call of such a batch failed, the uninterrupted run answered
        every call that had not finished with a ``"cancelled"`` result; a
        resume gives the same answers (performing nothing) instead of
        treating those calls as lost.
        """
        done = []
        for i in range(len(batch.calls)):
            slot = self.slots.get((at, i))
            if slot is not None and slot.open:
                return None  # a call's outcome was lost, not cancelled: the usual crash-window rules
            done.append(None if slot is None or slot.outcome is None else slot.outcome.result)
        if not any(type(r) is ToolResult and fails_batch(r) for r in done):
            return None
        return tuple(
            r if type(r) is ToolResult else fail_fast_cancelled(c)
            for r, c in zip(done, batch.calls, strict=True)
        )

    async def batch_of(self, at: int, batch: Parallel) -> tuple[ToolResult, ...]:
        key: Key = (at, None)
        decision = decide(key, batch, self.slots.get(key))
        if type(decision) is Replay:
            return cast("tuple[ToolResult, ...]", decision.result)
        attempt = decision.attempt
        if attempt > 1 and batch.join is JoinPolicy.FAIL_FAST:
            settled = self.settled(at, batch)
            if settled is not None:  # it had failed before the crash: answer as the run did then
                await self.append(Outcome(at=at, attempt=attempt - 1, result=settled, how="reconciled"))
                return settled
        await self.append(Intent(at=at, attempt=attempt, effect=batch))
        self.batch = batch
        try:
            results = await perform_parallel(self, batch)
        except BaseException as exc:
            await self.append(failure(at, None, attempt, exc))
            raise
        finally:
            self.batch = None
        await self.append(Outcome(at=at, attempt=attempt, result=results))
        return results


_IDEMPOTENT: dict[int, tuple[object, frozenset[str]]] = {}  # id(program) -> (program, its idempotent tools)


def _idempotent_of(program: object) -> frozenset[str]:
    """`idempotent_tools` of ``program``, remembered (programs are immutable; runs repeat them)."""
    hit = _IDEMPOTENT.get(id(program))
    if hit is not None and hit[0] is program:
        return hit[1]
    if len(_IDEMPOTENT) >= 256:
        _IDEMPOTENT.clear()
    names = idempotent_tools(program)
    _IDEMPOTENT[id(program)] = (program, names)
    return names


def _plain_input(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def _same_input(a: object, b: object) -> bool:
    return bool(_plain_input(a) == _plain_input(b))


async def run_durable(
    program: Program[S],
    interpreter: Interpreter,
    input: object,
    *,
    journal: JournalStore,
    run_id: str,
    reconcile: Reconciler | None = None,
    idempotent: Collection[str] = (),
) -> S:
    """``run`` with a journal: begin run ``run_id``, or resume it if its journal exists (see ``run``)."""
    state, done = await drive_durable(
        program,
        interpreter,
        input,
        journal=journal,
        run_id=run_id,
        reconcile=reconcile,
        idempotent=idempotent,
    )
    return program.finish(state, done)


async def drive_durable(
    program: Program[S],
    interpreter: Interpreter,
    input: object,
    *,
    journal: JournalStore,
    run_id: str,
    reconcile: Reconciler | None = None,
    idempotent: Collection[str] = (),
    observe: Callable[[S, Effect[Any], Any, S], Awaitable[object]] | None = None,
) -> tuple[S, Done]:
    """The loop of `run_durable` (``drive`` with a journal): the last state and the ``Done`` that ended it.

    ``observe(before, effect, result, after)`` is awaited after each result is
    folded in, replayed ones included (``stream`` reports events with it).
    """
    if not isinstance(run_id, str) or not run_id:
        raise ConfigurationError(f"run_id must be a non-empty string, got {run_id!r}")
    sink_of = getattr(journal, "_journal_sink", None)
    sink: list[object] | None = sink_of(run_id) if sink_of is not None else None
    step, fold = program.step, program.advance
    at = 0
    if sink is not None and not sink and input is not _RESUME:  # a new run, no I/O: the fast path
        plain = _plain_input(input)
        sink += raw_begun(run_id, plain)
        state = program.start(input)
        state, at, done = await _fresh(interpreter, run_id, sink, step, fold, state, observe)
        if done is not None:
            return state, done
        entries: tuple[Entry, ...] = (new_run_begun(run_id, plain),)
    else:
        entries = await journal.entries(run_id)
        if entries:
            begun = journal_input(entries)
            if input is not _RESUME and not _same_input(begun.input, input):
                raise ConfigurationError(
                    f"run {run_id!r} began with the input {begun.input!r:.200}, not {input!r:.200}; "
                    "resume it with its own input (or resume(...), which reads it from the journal), "
                    "or use a new run_id"
                )
            input = begun.input
        elif input is _RESUME:
            raise journal_not_found(run_id, repr(journal), await journal.list())
        else:
            begun = RunBegun(run_id=run_id, input=_plain_input(input))
            await journal.append(run_id, 0, begun)
            entries = (begun,)
        state = program.start(input)
    names = _idempotent_of(program) | frozenset(idempotent) if idempotent else _idempotent_of(program)
    j = _Journaling(interpreter, journal, run_id, entries, reconcile, names, sink)
    while True:
        effect = step(state)
        if not isinstance(effect, Effect):
            return state, cast("Done", check_step_output(effect, step))
        j.at = at
        if type(effect) is Parallel:
            result: Any = await j.batch_of(at, effect)
        else:
            result = await j.perform(at, None, effect)
        new = fold(state, effect, result)
        if observe is not None:
            await observe(state, effect, result, new)
        state = new
        at += 1


async def _fresh(
    inner: Interpreter,
    run_id: str,
    sink: list[object],
    step: Callable[[S], object],
    fold: Callable[[S, Any, Any], S],
    state: S,
    observe: Callable[[S, Effect[Any], Any, S], Awaitable[object]] | None,
) -> tuple[S, int, Done | None]:
    """A new run into a journal that does no I/O: `_Journaling.live`'s first attempts, inlined.

    Every effect is performed once, live, its intent and outcome appended to
    ``sink`` flat (``raw_intent``'s fields): no awaits, no entry values, no
    ``_Journaling`` (the in-process hot path). Returns the final state and its ``Done``; or, at a
    ``Parallel`` batch or once a ``journal_attempts`` layer exists, the state
    and the position the general loop goes on from.
    """
    n, at = len(sink), 0
    while True:
        effect = step(state)
        if not isinstance(effect, Effect):
            return state, at, cast("Done", check_step_output(effect, step))
        kind = type(effect)
        if kind is Parallel or DEMAND.attempts:
            return state, at, None
        if len(sink) != n:
            raise sink_taken(run_id, sink, n)
        if kind is ToolCall:
            call = cast("ToolCall", effect)
            ikey = f"{run_id}/{at}/{call.id}"  # idempotency_key(), inlined
            sink += (INTENT, at, None, 1, effect, ikey)
            down: Effect[Any] = keyed(call, run_id, ikey, 1)  # the tool's ToolContext rides on the call
        else:
            sink += (INTENT, at, None, 1, effect, None)
            down = effect
        n = len(sink)  # no await since the check above: only this run appended
        try:
            result = await inner(down)
        except BaseException as exc:
            if len(sink) != n:
                raise sink_taken(run_id, sink, n) from exc
            sink.append(failure(at, None, 1, exc))
            raise
        if not isinstance(result, kind.result_type):
            raise wrong_result(inner, effect, result)
        if len(sink) != n:
            raise sink_taken(run_id, sink, n)
        sink += (OUTCOME, at, None, 1, result)
        n = len(sink)
        new = fold(state, effect, result)
        if observe is not None:
            await observe(state, effect, result, new)
        state = new
        at += 1


async def resume(
    program: Program[S],
    interpreter: Interpreter,
    *,
    journal: JournalStore,
    run_id: str,
    reconcile: Reconciler | None = None,
    idempotent: Collection[str] = (),
) -> S:
    """Resume durable run ``run_id`` from its journal; return its final state.

    The input is read from the journal. The completed prefix is replayed (no
    model call, no tool runs again) and the run continues live, journalling as
    it goes. A non-idempotent tool call whose outcome a crash lost is not run
    again: ``reconcile`` decides, or it is answered with an ``outcome_unknown``
    result the model reads. A ``SaveSession`` whose outcome was lost is looked
    up in the session store, so no ``SessionConflict`` comes of it.

    Raises:
        TraceNotFound: there is no journal for ``run_id``.
        ReplayMismatch: the program returned another effect than the journal
            holds at that position (the program or its tools changed).

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import agent_interpreter, run, sequence
    >>> from interpreters.stores import MemoryJournal
    >>> agent, journal = fx.Agent(model="m"), MemoryJournal()
    >>> first = trio.run(lambda: run(agent, agent_interpreter(agent, model=sequence(["hi"])), "hello", journal=journal, run_id="r1"))
    >>> again = trio.run(lambda: resume(agent, agent_interpreter(agent, model=sequence([])), journal=journal, run_id="r1"))
    >>> again == first  # replayed from the journal: no model call
    True
    """
    if not isinstance(program, Program):
        raise TypeError(f"resume() expects a Program (an Agent, a Group, ...), got {type(program).__name__}")
    return await run_durable(
        program,
        interpreter,
        _RESUME,
        journal=journal,
        run_id=run_id,
        reconcile=reconcile,
        idempotent=idempotent,
    )
