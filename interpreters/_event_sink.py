"""Where model interpreters send streaming deltas: `EventSink`, `event_sink`, `observe_deltas`.

Theory of operation: while a ``ModelCall`` is observed (by `stream` or
`observe_deltas`), a context variable holds an `EventSink`; an interpreter
that can stream (``openai``) asks `event_sink` for it and emits deltas there.
Layers in between need not know, and outside an observed model call the sink
is ``None``, so interpreters do not stream. Only this module and
``_stream.py`` set the variable.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import final

from anyio.streams.memory import MemoryObjectSendStream

from tower_llm_fx import AttemptDiscarded, RunEvent

__all__ = ["EventSink", "discard_attempt", "event_sink", "observe_deltas"]

CURRENT_SINK: ContextVar[EventSink | None] = ContextVar("tower_llm_fx_event_sink", default=None)


@final
class EventSink:
    """Where a model interpreter sends its deltas while a ``ModelCall`` is observed.

    Get it with `event_sink`; ``step`` is the step the model call belongs to,
    for stamping events. Under `stream`, `emit` waits only while the
    reader is behind (backpressure); under `observe_deltas` it calls the
    observer.
    """

    __slots__ = ("_deliver", "emitted", "step")

    def __init__(
        self,
        deliver: MemoryObjectSendStream[RunEvent] | Callable[[RunEvent], Awaitable[object] | object],
        step: int = 1,
    ) -> None:
        # A callback (observe_deltas, and stream's channel), or a memory object stream.
        self._deliver = deliver.send if isinstance(deliver, MemoryObjectSendStream) else deliver
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


def event_sink() -> EventSink | None:
    """The sink for streaming deltas of the ``ModelCall`` being performed, or ``None``.

    It is set while `stream` performs a ``ModelCall`` (only in that task
    and the tasks it starts), and inside `observe_deltas`; everywhere else
    (tool calls, a plain ``run``) it is ``None``, and an interpreter should
    not stream.

    >>> event_sink() is None
    True
    """
    return CURRENT_SINK.get()


async def discard_attempt(error: BaseException) -> None:
    """Say that the streamed deltas of the current model call's attempt are void.

    For layers that try a ``ModelCall`` again (``retry``, ``fallback``): call it
    after an attempt failed, before the next one. If the attempt streamed
    deltas, the sink reports `AttemptDiscarded` and forgets them (so a next
    attempt that cannot stream is reported whole); otherwise it does nothing.
    """
    sink = CURRENT_SINK.get()
    if sink is not None and sink.emitted:
        await sink.emit(AttemptDiscarded(step=sink.step, error=type(error).__name__))
        sink.emitted = 0


@contextmanager
def observe_deltas(fn: Callable[[RunEvent], object], *, step: int = 1) -> Iterator[EventSink]:
    """Send the deltas of the model calls made in this block to ``fn``, inline.

    The lightweight sibling of `stream`, with no task and no channel:
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
    token = CURRENT_SINK.set(sink)
    try:
        yield sink
    finally:
        CURRENT_SINK.reset(token)
