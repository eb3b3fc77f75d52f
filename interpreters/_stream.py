"""Streamed runs: `stream` reports the events of any program's run while it happens.

Theory of operation: a streamed run is the same loop as ``run`` (which
reports each exchange to an ``observe`` callback) in a background task, and
every event goes through one bounded channel to the caller, which gives
backpressure. The events are observations only: the effects, the results and
so the final state are the same as those of ``run``, whoever reads the
events. The program says what its states mean (``conversation``) and adds
its own events (``events``: `RunStarted`, a group's ``HandedOff``).

Time to first token is what the design is tuned for: the channel is a deque
with `anyio.Event` wake-ups (the reader waits with no extra checkpoint), and
the producer yields only when the reader is waiting for a delta. What
remains is the cost of starting one anyio task and of one pass of the
scheduler to hand the first delta over (``bench/openai_overhead.py``).

There are two kinds of event:

* *Run events* (`RunStarted`, `ModelReplied`, `ToolCallFinished`,
  `StepFinished`, `RunFinished`) come from the loop itself, from the effects
  and results it sees.
* *Deltas* (`TokenDelta`, `ToolCallStarted`, ...) come from the model
  interpreter while a ``ModelCall`` is being performed. The loop makes an
  `EventSink` available through a context variable (`event_sink`) for the
  duration of each ``ModelCall``. An interpreter that can stream (``openai``)
  sends its deltas there; layers in between need not know. If the
  interpreter sent nothing (scripted models, replay, a custom interpreter),
  the loop stands in for it with `reply_events`: the whole text as one delta.

So any interpreter works with `stream`, and streaming never changes
what is recorded or replayed: a record layer still sees
``ModelCall -> ModelReply``.
"""

from __future__ import annotations

import inspect
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Collection
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, final

import anyio
import anyio.abc
import anyio.lowlevel
import attrs

from tower_llm_fx import (
    Effect,
    ModelCall,
    ModelReplied,
    Parallel,
    Program,
    RunEvent,
    RunFinished,
    RunState,
    StepFinished,
    ToolCall,
    ToolCallFinished,
    Usage,
    reply_events,
)

from ._durable import Reconciler, drive_durable
from ._event_sink import CURRENT_SINK, EventSink
from ._run import check_program, drive
from ._types import Interpreter
from .stores._journal import JournalStore

__all__ = ["RunStream", "stream", "tap"]

S = TypeVar("S")
if TYPE_CHECKING:  # a default for the type parameter, so a bare ``RunStream`` means ``RunStream[RunState]``
    from typing_extensions import TypeVar as _TypeVar

    T = _TypeVar("T", default=RunState)
else:
    T = TypeVar("T")

_NO_USAGE = Usage()


@final
class _Channel:
    """The events of one producer task on their way to the reader, at most ``buffer`` unread.

    A deque and `anyio.Event` wake-ups rather than a memory object stream:
    the reader waits with no checkpoint and no task lookup, and an event is
    never handed to a reader that was cancelled meanwhile (it stays queued).
    Any number of readers may wait; one producer puts.
    """

    __slots__ = ("_buffer", "_closed", "_ended", "_items", "_reader", "_writer")

    def __init__(self, buffer: int) -> None:
        self._items: deque[RunEvent] = deque()
        self._buffer = buffer
        self._reader: anyio.Event | None = None  # set when an event arrives, if a reader waits
        self._writer: anyio.Event | None = None  # set when there is room, if the producer waits
        self._ended = False  # the producer is done: readers get EndOfStream after the items
        self._closed = False  # the block was left: readers get ClosedResourceError

    def _wake_reader(self) -> bool:
        reader = self._reader
        if reader is None:
            return False
        self._reader = None
        reader.set()
        return True

    async def put(self, event: RunEvent) -> None:
        """Queue ``event``; wait only while ``buffer`` events are unread."""
        self._items.append(event)
        if not self._wake_reader() and len(self._items) > self._buffer:
            writer = self._writer = anyio.Event()
            await writer.wait()

    async def deliver(self, event: RunEvent) -> None:
        """`put` a delta, and if a reader was waiting for it, let it have it now.

        A checkpoint per event would cost a pass of the scheduler per token,
        so we yield only when a reader is waiting for this event, and then
        twice: trio runs the tasks of one pass in random order, and the
        second pass makes sure the reader gets the event before we parse the
        chunks httpx may already hold (what time-to-first-token is about).
        """
        self._items.append(event)
        if self._wake_reader():
            await anyio.lowlevel.checkpoint()
            await anyio.lowlevel.checkpoint()
        elif len(self._items) > self._buffer:
            writer = self._writer = anyio.Event()
            await writer.wait()

    def end(self) -> None:
        """The producer is done (finished, failed or cancelled)."""
        self._ended = True
        self._wake_reader()

    def close(self) -> None:
        """The reader's block was left."""
        self._closed = True
        self._wake_reader()

    def get_nowait(self) -> RunEvent | None:
        """The next event, or ``None`` if there is none yet."""
        if self._closed:
            raise anyio.ClosedResourceError
        items = self._items
        if not items:
            if self._ended:
                raise anyio.EndOfStream
            return None
        event = items.popleft()
        writer = self._writer
        if writer is not None and len(items) <= self._buffer:
            self._writer = None
            writer.set()
        return event

    async def get(self) -> RunEvent:
        """The next event; wait for it if there is none yet."""
        while (event := self.get_nowait()) is None:
            reader = self._reader
            if reader is None:
                reader = self._reader = anyio.Event()
            await reader.wait()
        return event


@final
class RunStream(Generic[T]):
    """The events of one streamed run, in order: iterate it with ``async for``.

    If the run fails, iterating raises the run's exception after the events
    that came before it. Once `RunFinished` has been read, `final` is the
    final run state and `result` what the matching plain call returns (the
    ``RunState`` of an agent's run, the ``GroupState`` of a group's);
    `collect_final` reads everything and returns `final`.
    """

    __slots__ = ("_channel", "_error", "_final", "_first", "_result")

    def __init__(self, channel: _Channel, first: tuple[RunEvent, ...] = ()) -> None:
        self._channel = channel
        self._first = first  # the program's start events (RunStarted), known before the run starts
        self._error: Exception | None = None  # set by the producer if the run fails
        self._final: RunState | None = None
        self._result: T | None = None  # set by the producer just before it sends RunFinished

    def __aiter__(self) -> RunStream[T]:
        return self

    async def __anext__(self) -> RunEvent:
        first = self._first
        if first:
            self._first = first[1:]
            return first[0]
        try:
            # Take a waiting event without a pass of the scheduler (at most
            # ``buffer`` in a row); wait only when there is none.
            event = self._channel.get_nowait()
            if event is None:
                event = await self._channel.get()
        except anyio.EndOfStream:
            if self._error is not None:
                raise self._error from None
            raise StopAsyncIteration from None
        except anyio.ClosedResourceError:
            raise RuntimeError(
                "this run stream is closed: read it inside `async with stream(...) as events:`; "
                "leaving the block stops the run"
            ) from None
        if type(event) is RunFinished:
            self._final = event.state
        return event

    @property
    def final(self) -> RunState | None:
        """The final state, once `RunFinished` has been read; ``None`` before."""
        return self._final

    @property
    def result(self) -> T | None:
        """What the plain run returns, once `RunFinished` has been read; ``None`` before.

        The final ``RunState`` (the same as `final`) for an agent, the
        final ``GroupState`` for a group.
        """
        return self._result if self._final is not None else None

    async def collect_final(self) -> RunState:
        """Read the remaining events and return the final state (tower-llm's ``collect_final``).

        Raises:
            Exception: whatever the run raised.
        """
        async for _ in self:
            pass
        if self._final is None:  # pragma: no cover - the producer always ends with RunFinished or an error
            raise RuntimeError("the run ended without a RunFinished event")
        return self._final

    def __repr__(self) -> str:
        state = "finished" if self._final is not None else "running"
        return f"<RunStream {state}>"


@final
@attrs.define(eq=False, repr=False)
class _Producer(Generic[S]):
    """The background task of `stream`: the loop of ``run`` with events.

    It is the interpreter the loop calls (the real one, with the event sink
    set during model calls) and its ``observe`` (the run events of each
    exchange), and it sends `RunFinished` at the end.
    """

    program: Program[S]
    interpreter: Interpreter
    channel: _Channel
    durable: dict[str, Any] | None = None  # a durable run's input, journal, run_id, ... (docs/durable.md)
    sink: EventSink = attrs.field(init=False)
    usage: Usage = attrs.field(init=False, default=_NO_USAGE)  # of the step in progress

    def __attrs_post_init__(self) -> None:
        self.sink = EventSink(self.channel.deliver)

    async def run(self, stream: RunStream[S], state: S) -> None:
        program = self.program
        try:
            self.sink.step = program.conversation(state).steps + 1
            if self.durable is None:
                last, done = await drive(program, self, state, observe=self.observe)
            else:  # journalled: replayed exchanges are reported as a scripted model's would be
                last, done = await drive_durable(program, self, observe=self.observe, **self.durable)
            final = program.finish(last, done)
            stream._result = final
            await self.channel.put(RunFinished(state=program.conversation(final)))
        except Exception as exc:  # delivered to the reader; cancellation passes through
            stream._error = exc
        finally:
            self.channel.end()

    async def __call__(self, effect: Effect[Any], /) -> Any:
        if type(effect) is ModelCall:
            sink = self.sink
            sink.emitted = 0
            token = CURRENT_SINK.set(sink)
            try:
                return await self.interpreter(effect)
            finally:
                CURRENT_SINK.reset(token)
        return await self.interpreter(effect)

    async def observe(self, before: S, effect: Effect[Any], result: Any, after: S) -> None:
        put = self.channel.put
        conversation = self.program.conversation
        old, new = conversation(before), conversation(after)
        step = old.steps + 1
        if type(effect) is ModelCall:
            # A reply that did not enter the conversation (a group's picker, a
            # handoff summary) is not reported.
            if len(new.messages) > len(old.messages):
                if self.sink.emitted == 0:
                    for event in reply_events(step, result):
                        await put(event)
                await put(ModelReplied(step=step, reply=result))
            self.usage = self.usage + result.usage
        elif type(effect) is ToolCall:
            await put(ToolCallFinished(step=step, result=result))
        elif type(effect) is Parallel:
            for r in result:
                await put(ToolCallFinished(step=step, result=r))
        if new.steps > old.steps:
            await put(StepFinished(step=step, usage=self.usage))
            self.usage = _NO_USAGE
        for event in self.program.events(before, after):
            await put(event)
        self.sink.step = new.steps + 1

    def __repr__(self) -> str:
        # The loop names the interpreter in WrongResultType: name the real one.
        return repr(self.interpreter)


@final
class _Streaming(Generic[S]):
    """``stream(...)``: entering it starts the producer in a task group, leaving it stops it."""

    __slots__ = ("_producer", "_state", "_stream", "_task_group")

    def __init__(self, producer: _Producer[S], state: S, stream: RunStream[S]) -> None:
        self._producer = producer
        self._state = state
        self._stream = stream
        self._task_group: anyio.abc.TaskGroup | None = None

    async def __aenter__(self) -> RunStream[S]:
        if self._task_group is not None:
            raise RuntimeError("a streamed run can be entered once; call stream(...) again for another")
        tg = self._task_group = anyio.create_task_group()
        await tg.__aenter__()
        tg.start_soon(self._producer.run, self._stream, self._state)
        return self._stream

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        tg = self._task_group
        assert tg is not None
        tg.cancel_scope.cancel()
        try:
            if isinstance(exc, Exception):
                # The block's own exception goes on as it is, not wrapped in an
                # ExceptionGroup: the task group only sees the cancellation.
                await tg.__aexit__(None, None, None)
                return None
            return await tg.__aexit__(exc_type, exc, tb)
        finally:
            self._producer.channel.close()


def stream(
    program: Program[S],
    interpreter: Interpreter,
    input: object,
    *,
    buffer: int = 64,
    journal: JournalStore | None = None,
    run_id: str | None = None,
    reconcile: Reconciler | None = None,
    idempotent: Collection[str] = (),
) -> AbstractAsyncContextManager[RunStream[S]]:
    """Run ``program`` like ``run``, reporting its events as they happen.

    The run starts when the block is entered and goes on in the background;
    the block reads its events (`RunStream`). At most ``buffer`` events wait
    to be read: a slow reader slows the run down rather than piling events up.
    Leaving the block stops the run if it is still going (cancelling an
    in-flight model call closes its connection). The effects, the results and
    the final state are those of ``run`` for the same interpreter and input,
    whoever reads the events; ``events.result`` is what ``run`` returns.
    ``journal``, ``run_id``, ``reconcile`` and ``idempotent`` make it a durable
    run, as for ``run`` (docs/durable.md).

    The events: the program's start events (`RunStarted`), then per exchange
    `TokenDelta`... `ModelReplied`, `ToolCallFinished`, `StepFinished` and the
    program's own (a group's `HandedOff`), then `RunFinished`.

    Example::

        async with stream(agent, interpreter, "What is 2 + 3?") as events:
            async for event in events:
                if isinstance(event, fx.TokenDelta):
                    print(event.text, end="")
        final = events.final

    Raises (while iterating):
        Exception: whatever the run raised (``ProviderError``, ``StepError``, ...).

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import agent_interpreter, fixed
    >>> agent = fx.Agent(model="demo")
    >>> async def main():
    ...     async with stream(agent, agent_interpreter(agent, model=fixed("Hi!")), "Hello") as events:
    ...         return [type(e).__name__ async for e in events]
    >>> trio.run(main)
    ['RunStarted', 'TokenDelta', 'ModelReplied', 'StepFinished', 'RunFinished']
    """
    check_program(program, "stream")
    if not isinstance(buffer, int) or buffer < 0:
        raise ValueError(f"buffer must be a non-negative int, got {buffer!r}")
    state = program.start(input)
    channel = _Channel(buffer)
    events: RunStream[S] = RunStream(channel, tuple(program.events(None, state)))
    durable: dict[str, Any] | None = None
    if journal is not None or run_id is not None:
        if journal is None or run_id is None:
            raise TypeError("a durable run needs both journal= and run_id= (or neither, for a plain run)")
        durable = {"input": input, "journal": journal, "run_id": run_id, "reconcile": reconcile}
        durable["idempotent"] = idempotent
    producer = _Producer(program, interpreter, channel, durable)
    return _Streaming(producer, state, events)


@final
@attrs.frozen
class _Tap:
    fn: Callable[[RunEvent], object]

    async def __call__(self, events: AsyncIterable[RunEvent]) -> AsyncIterator[RunEvent]:
        fn = self.fn
        async for event in events:
            out = fn(event)
            if inspect.isawaitable(out):
                await out
            yield event

    def __repr__(self) -> str:
        return f"tap({getattr(self.fn, '__name__', self.fn)})"


def tap(fn: Callable[[RunEvent], object]) -> Callable[[AsyncIterable[RunEvent]], AsyncIterator[RunEvent]]:
    """Observe a stream of events without changing it (tower-llm's ``StreamTapLayer``).

    ``tap(fn)(events)`` yields every event of ``events`` unchanged, after
    calling ``fn(event)`` (awaited if it returns an awaitable). Stack taps by
    nesting them: ``tap(log)(tap(count)(events))``.

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import agent_interpreter, fixed
    >>> agent = fx.Agent(model="demo")
    >>> seen = []
    >>> async def main():
    ...     async with stream(agent, agent_interpreter(agent, model=fixed("Hi!")), "Hello") as events:
    ...         async for event in tap(seen.append)(events):
    ...             pass
    ...     return events.final.output
    >>> trio.run(main), len(seen)
    ('Hi!', 5)
    """
    if not callable(fn):
        raise TypeError(f"tap() needs a callable taking an event, got {fn!r}")
    return _Tap(fn)
