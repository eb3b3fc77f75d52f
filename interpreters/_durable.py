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

The in-process fast path: a new run into a `MemoryJournal` (a store that does
no I/O) takes a loop of its own in `drive_durable`. It holds the run's list
while it runs, appends each first attempt to it inline as a pair (the effect,
then its result: ``stores._journal`` reads them back as entries), and builds
no journaling interpreter unless a ``Parallel`` batch or a ``journal_attempts``
layer needs one. Calls of tools in ``context_free_tools(program)`` go down
without a ``ToolContext`` (`keyed` is most of what journaling one costs).
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
    context_free_tools,
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
    FAILED,
    OPEN,
    JournalStore,
    MemoryJournal,
    Raw,
    journal_not_found,
    pair_at,
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
        keyless: Collection[str],
        sink: list[object] | None,
    ) -> None:
        self.inner = inner
        self.journal = journal
        self.run_id = run_id
        self.slots = fold_journal(entries) if len(entries) > 1 else {}  # a new run: only RunBegun
        self.count = len(entries) if sink is None else len(sink)  # a sink's length counts items
        self.reconcile = reconcile
        self.idempotent = idempotent
        self.keyless = keyless  # tools that take no ToolContext (`context_free_tools`)
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
            if effect.name not in self.keyless:
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


_Facts: TypeAlias = tuple[frozenset[str], frozenset[str]]
_TOOLS: dict[int, tuple[object, frozenset[str], frozenset[str]]] = {}  # id(program) -> (program, *facts)


def _tools_of(program: object) -> _Facts:
    """``program``'s idempotent tools and its context-free ones, remembered (programs are immutable)."""
    hit = _TOOLS.get(id(program))
    if hit is not None and hit[0] is program:
        return hit[1], hit[2]
    if len(_TOOLS) >= 256:
        _TOOLS.clear()
    facts = (idempotent_tools(program), context_free_tools(program))
    _TOOLS[id(program)] = (program, *facts)
    return facts


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
    if type(journal) is not MemoryJournal:
        return await _drive(
            program, interpreter, input, journal, run_id, reconcile, idempotent, observe, None
        )
    plain = tuple(input) if isinstance(input, list) else input  # _plain_input(), inlined
    # Held by this run until it stops (two at once are refused); None: the run has items, it resumes.
    sink = None if input is _RESUME else journal._journal_begin(run_id, plain)
    if sink is None:
        sink = journal._journal_sink(run_id)
        try:
            return await _drive(
                program, interpreter, input, journal, run_id, reconcile, idempotent, observe, sink
            )
        finally:
            journal._journal_release(run_id)
    try:
        # A new run, no I/O: the fast path (its first attempts, appended as pairs: an effect's
        # number is `pair_at` its item's index).
        state = program.start(input)
        # A journal_attempts layer wraps interpreters before they run: if none exists yet, no
        # interpreter of this run needs to know what is in flight (`DEMAND`).
        if not DEMAND.attempts:
            hit = _TOOLS.get(id(program))  # _tools_of(), inlined
            keyless = hit[2] if hit is not None and hit[0] is program else _tools_of(program)[1]
            step, fold = program.step, program.advance
            while True:
                effect = step(state)
                if not isinstance(effect, Effect):
                    return state, cast("Done", check_step_output(effect, step))
                kind = type(effect)
                if kind is ToolCall:
                    call: ToolCall = effect  # type: ignore[assignment]  # (no cast(): a call per effect)
                    down: Effect[Any] = (
                        effect
                        if call.name in keyless  # the tool takes no ToolContext: nothing would read one
                        else keyed(call, run_id, f"{run_id}/{pair_at(len(sink))}/{call.id}", 1)
                    )  # (idempotency_key(), inlined)
                elif kind is Parallel:
                    break  # the general loop goes on from here
                else:
                    down = effect
                sink.append(effect)  # the intent: before anything can happen
                try:
                    result = await interpreter(down)
                except BaseException as exc:
                    sink += (FAILED, failure(pair_at(len(sink) - 1), None, 1, exc))
                    raise
                if not isinstance(result, kind.result_type):
                    sink.append(OPEN)  # what the refused result did is unknown, as after a crash
                    raise wrong_result(interpreter, effect, result)
                sink.append(result)  # the outcome
                new = fold(state, effect, result)
                if observe is not None:
                    await observe(state, effect, result, new)
                state = new
        begun = (new_run_begun(run_id, plain),)
        j = _journaling(program, interpreter, journal, run_id, begun, reconcile, idempotent, sink)
        return await _loop(program, j, state, pair_at(len(sink)), observe)
    finally:
        journal._journal_release(run_id)


def _journaling(
    program: Program[Any],
    interpreter: Interpreter,
    journal: JournalStore,
    run_id: str,
    entries: tuple[Entry, ...],
    reconcile: Reconciler | None,
    idempotent: Collection[str],
    sink: list[object] | None,
) -> _Journaling:
    names, keyless = _tools_of(program)
    if idempotent:
        names = names | frozenset(idempotent)
    return _Journaling(interpreter, journal, run_id, entries, reconcile, names, keyless, sink)


async def _drive(
    program: Program[S],
    interpreter: Interpreter,
    input: object,
    journal: JournalStore,
    run_id: str,
    reconcile: Reconciler | None,
    idempotent: Collection[str],
    observe: Callable[[S, Effect[Any], Any, S], Awaitable[object]] | None,
    sink: list[object] | None,
) -> tuple[S, Done]:
    """`drive_durable` for a run to resume, or on a store that does I/O."""
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
    j = _journaling(program, interpreter, journal, run_id, entries, reconcile, idempotent, sink)
    return await _loop(program, j, program.start(input), 0, observe)


async def _loop(
    program: Program[S],
    j: _Journaling,
    state: S,
    at: int,
    observe: Callable[[S, Effect[Any], Any, S], Awaitable[object]] | None,
) -> tuple[S, Done]:
    """The durable run's loop from effect number ``at``, each effect through ``j``."""
    step, fold = program.step, program.advance
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
