"""Streamed runs: `run_stream` reports a run's events while it happens.

Theory of operation: a streamed run is the same loop as ``run`` (step,
interpret, advance) in a background task, and every event goes through one
bounded memory channel to the caller, which gives backpressure. The events
are observations only: the effects, the results and so the final state are
the same as those of ``run``, whoever reads the events.

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

So any interpreter works with `run_stream`, and streaming never changes
what is recorded or replayed: a record layer still sees
``ModelCall -> ModelReply``.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any, final

import anyio
import anyio.lowlevel
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from tower_llm_fx import (
    Agent,
    Done,
    Message,
    ModelCall,
    ModelReplied,
    ModelReply,
    Parallel,
    RunEvent,
    RunFinished,
    RunStarted,
    RunState,
    StepFinished,
    ToolCall,
    ToolCallFinished,
    ToolResult,
    Usage,
    WrongResultType,
    advance,
    finish,
    reply_events,
)
from tower_llm_fx.testing import check_step_output

from ._run import _start
from ._types import Interpreter

__all__ = ["EventSink", "RunStream", "event_sink", "observe_deltas", "run_stream", "tap"]

_SINK: ContextVar[EventSink | None] = ContextVar("tower_llm_fx_event_sink", default=None)


@final
class EventSink:
    """Where a model interpreter sends its deltas while a ``ModelCall`` is observed.

    Get it with `event_sink`; ``step`` is the step the model call belongs to,
    for stamping events. Under `run_stream`, `emit` waits only while the
    reader is behind (backpressure); under `observe_deltas` it calls the
    observer.
    """

    __slots__ = ("_deliver", "emitted", "step")

    def __init__(
        self,
        deliver: MemoryObjectSendStream[RunEvent] | Callable[[RunEvent], Awaitable[object] | object],
        step: int = 1,
    ) -> None:
        # A channel (run_stream and its siblings) or a callback (observe_deltas).
        self._deliver = _channel(deliver) if isinstance(deliver, MemoryObjectSendStream) else deliver
        self.step = step
        #: Events emitted during the current model call.
        self.emitted = 0

    async def emit(self, event: RunEvent) -> None:
        """Deliver ``event``."""
        self.emitted += 1
        out = self._deliver(event)
        if inspect.isawaitable(out):
            await out

    def __repr__(self) -> str:
        return f"<EventSink step={self.step} emitted={self.emitted}>"


def _channel(send: MemoryObjectSendStream[RunEvent]) -> Callable[[RunEvent], Awaitable[None]]:
    """Deliver deltas to `run_stream`'s reader."""

    async def deliver(event: RunEvent) -> None:
        # A checkpoint per event would cost a pass of the scheduler per token, so
        # we yield only when the reader is waiting for this event, and then twice:
        # trio runs the tasks of one pass in random order, and the second pass
        # makes sure the reader gets the event before we parse the chunks httpx
        # may already hold (what time-to-first-token is about).
        waiting = send.statistics().tasks_waiting_receive
        await _put(send, event)
        if waiting:
            await anyio.lowlevel.checkpoint()
            await anyio.lowlevel.checkpoint()

    return deliver


def event_sink() -> EventSink | None:
    """The sink for streaming deltas of the ``ModelCall`` being performed, or ``None``.

    It is set while `run_stream` performs a ``ModelCall`` (only in that task
    and the tasks it starts), and inside `observe_deltas`; everywhere else
    (tool calls, a plain ``run``) it is ``None``, and an interpreter should
    not stream.

    >>> event_sink() is None
    True
    """
    return _SINK.get()


@contextmanager
def observe_deltas(fn: Callable[[RunEvent], object], *, step: int = 1) -> Iterator[EventSink]:
    """Send the deltas of the model calls made in this block to ``fn``, inline.

    The lightweight sibling of `run_stream`, with no task and no channel:
    ``fn(event)`` (awaited if it returns an awaitable) runs in the middle of
    the model call, as each delta arrives, so it should be quick. Use it to
    stream one model call: ``openai`` streams whenever deltas are observed.
    Interpreters that cannot stream deliver nothing (see `reply_events`).

    >>> import trio, tower_llm_fx as fx
    >>> async def model(call):  # a model interpreter that streams
    ...     sink = event_sink()
    ...     if sink is not None:
    ...         await sink.emit(fx.TokenDelta(step=sink.step, text="Hi"))
    ...     return fx.ModelReply(message=fx.assistant("Hi"))
    >>> seen = []
    >>> async def main():
    ...     with observe_deltas(seen.append):
    ...         return await model(fx.ModelCall(model="m", messages=[fx.user("hello")]))
    >>> trio.run(main).message.content, seen
    ('Hi', [TokenDelta(step=1, text='Hi')])
    """
    if not callable(fn):
        raise TypeError(f"observe_deltas() needs a callable taking an event, got {fn!r}")
    sink = EventSink(fn, step)
    token = _SINK.set(sink)
    try:
        yield sink
    finally:
        _SINK.reset(token)


@final
class RunStream:
    """The events of one streamed run, in order: iterate it with ``async for``.

    If the run fails, iterating raises the run's exception after the events
    that came before it. `final` is the final state once `RunFinished` has
    been read; `collect_final` reads everything and returns it.
    """

    __slots__ = ("_error", "_final", "_first", "_receive")

    def __init__(self, receive: MemoryObjectReceiveStream[RunEvent], first: RunEvent | None = None) -> None:
        self._receive = receive
        self._first = first  # RunStarted, when known before the run starts
        self._error: Exception | None = None
        self._final: RunState | None = None

    def __aiter__(self) -> RunStream:
        return self

    async def __anext__(self) -> RunEvent:
        first = self._first
        if first is not None:
            self._first = None
            return first
        try:
            try:
                # Take a waiting event without a pass of the scheduler (at most
                # ``buffer`` in a row); wait only when there is none.
                event = self._receive.receive_nowait()
            except anyio.WouldBlock:
                event = await self._receive.receive()
        except anyio.EndOfStream:
            if self._error is not None:
                raise self._error from None
            raise StopAsyncIteration from None
        except anyio.ClosedResourceError:
            raise RuntimeError(
                "this run stream is closed: read it inside `async with run_stream(...) as events:`; "
                "leaving the block stops the run"
            ) from None
        if type(event) is RunFinished:
            self._final = event.state
        return event

    @property
    def final(self) -> RunState | None:
        """The final state, once `RunFinished` has been read; ``None`` before."""
        return self._final

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


async def _put(send: MemoryObjectSendStream[RunEvent], event: RunEvent) -> None:
    # No checkpoint while the buffer has room: the producer checkpoints in its I/O.
    try:
        send.send_nowait(event)
    except anyio.WouldBlock:
        await send.send(event)


async def _send_all(send: MemoryObjectSendStream[RunEvent], events: Sequence[RunEvent]) -> None:
    for event in events:
        await _put(send, event)


async def _run_agent(
    agent: Agent,
    interpreter: Interpreter,
    state: RunState,
    send: MemoryObjectSendStream[RunEvent],
) -> None:
    """The loop of ``run`` with events; mirrors ``drive`` step for step."""
    sink = EventSink(send)
    step_fn = agent.step
    step_usage = Usage()
    while True:
        out = step_fn(state)
        if type(out) is not Done:
            out = check_step_output(out, step_fn)
        if isinstance(out, Done):
            break
        effect = out
        step = state.steps + 1
        if isinstance(effect, ModelCall):
            sink.step = step
            sink.emitted = 0
            token = _SINK.set(sink)
            try:
                result: Any = await interpreter(effect)
            finally:
                _SINK.reset(token)
        else:
            result = await interpreter(effect)
        expected = type(effect).result_type
        if not isinstance(result, expected):
            raise WrongResultType(
                f"{interpreter!r} returned {type(result).__name__} for {type(effect).__name__}; "
                f"expected {expected.__name__}"
            )
        new = advance(state, effect, result)
        if isinstance(effect, ModelCall):
            assert isinstance(result, ModelReply)
            if sink.emitted == 0:
                await _send_all(send, reply_events(step, result))
            await _put(send, ModelReplied(step=step, reply=result))
            step_usage = step_usage + result.usage
        elif isinstance(effect, ToolCall):
            assert isinstance(result, ToolResult)
            await _put(send, ToolCallFinished(step=step, result=result))
        elif isinstance(effect, Parallel):
            await _send_all(send, [ToolCallFinished(step=step, result=r) for r in result])
        if new.steps > state.steps:
            await _put(send, StepFinished(step=step, usage=step_usage))
            step_usage = Usage()
        state = new
    await _put(send, RunFinished(state=finish(state, out)))


async def _produce(
    body: Callable[[MemoryObjectSendStream[RunEvent]], Awaitable[None]],
    send: MemoryObjectSendStream[RunEvent],
    stream: RunStream,
) -> None:
    async with send:
        try:
            await body(send)
        except Exception as exc:  # delivered to the reader; cancellation passes through
            stream._error = exc


@asynccontextmanager
async def run_stream(
    agent: Agent,
    interpreter: Interpreter,
    input: str | Sequence[Message] | RunState,
    *,
    buffer: int = 64,
) -> AsyncIterator[RunStream]:
    """Run ``agent`` like ``run``, reporting its events as they happen.

    The run starts when the block is entered and goes on in the background;
    the block reads its events (`RunStream`). At most ``buffer`` events wait
    to be read: a slow reader slows the run down rather than piling events up.
    Leaving the block stops the run if it is still going (cancelling an
    in-flight model call closes its connection). The final state is the one
    ``run`` returns for the same interpreter and input.

    Example::

        async with run_stream(agent, interpreter, "What is 2 + 3?") as events:
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
    ...     async with run_stream(agent, agent_interpreter(agent, model=fixed("Hi!")), "Hello") as events:
    ...         return [type(e).__name__ async for e in events]
    >>> trio.run(main)
    ['RunStarted', 'TokenDelta', 'ModelReplied', 'StepFinished', 'RunFinished']
    """
    if not isinstance(agent, Agent):
        raise TypeError(f"run_stream() expects an Agent first, got {type(agent).__name__}")
    if not isinstance(buffer, int) or buffer < 0:
        raise ValueError(f"buffer must be a non-negative int, got {buffer!r}")
    state = _start(input)
    send, receive = anyio.create_memory_object_stream[RunEvent](buffer)
    stream = RunStream(receive, RunStarted(agent=agent.name, state=state))

    async def body(send: MemoryObjectSendStream[RunEvent]) -> None:
        await _run_agent(agent, interpreter, state, send)

    error: Exception | None = None
    async with receive, anyio.create_task_group() as tg:
        tg.start_soon(_produce, body, send, stream)
        try:
            yield stream
        except Exception as exc:
            # Re-raised below, outside the task group, so it is not wrapped in an ExceptionGroup.
            error = exc
        finally:
            tg.cancel_scope.cancel()
    if error is not None:
        raise error


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
    ...     async with run_stream(agent, agent_interpreter(agent, model=fixed("Hi!")), "Hello") as events:
    ...         async for event in tap(seen.append)(events):
    ...             pass
    ...     return events.final.output
    >>> trio.run(main), len(seen)
    ('Hi!', 5)
    """
    if not callable(fn):
        raise TypeError(f"tap() needs a callable taking an event, got {fn!r}")
    return _Tap(fn)
