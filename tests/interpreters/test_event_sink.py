"""`EventSink`, `event_sink` and `observe_deltas`: where model interpreters send streaming deltas.

Covers: no sink outside an observed block; sync and async observers (async ones are awaited before
``emit`` returns); step and ``emitted`` counting; nesting and resetting of the context variable (on
normal exit and on error); which tasks see the sink; a sink over a memory object stream, with real
backpressure; bad input and the repr. ``stream``'s use of the sink is in ``test_stream.py``.
Trio and asyncio.
"""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

import tower_llm_fx as fx
from interpreters import EventSink, event_sink, observe_deltas

pytestmark = pytest.mark.anyio


def delta(text: str, step: int = 1) -> fx.TokenDelta:
    return fx.TokenDelta(step=step, text=text)


async def test_there_is_no_sink_outside_an_observed_block() -> None:
    assert event_sink() is None
    with observe_deltas(lambda e: None):
        assert event_sink() is not None
    assert event_sink() is None


async def test_a_sync_observer_sees_each_event_in_order() -> None:
    seen: list[fx.RunEvent] = []
    with observe_deltas(seen.append) as sink:
        assert event_sink() is sink
        for text in ("a", "b", "c"):
            await sink.emit(delta(text))
    assert seen == [delta("a"), delta("b"), delta("c")]
    assert sink.emitted == 3


async def test_an_async_observer_is_awaited_before_emit_returns() -> None:
    seen: list[str] = []

    async def observe(event: fx.RunEvent) -> None:
        await anyio.sleep(0.01)  # a real suspension: emit must wait for it
        assert isinstance(event, fx.TokenDelta)
        seen.append(event.text)

    with observe_deltas(observe) as sink:
        await sink.emit(delta("x"))
        assert seen == ["x"]
        await sink.emit(delta("y"))
        assert seen == ["x", "y"]


async def test_an_observer_that_returns_a_plain_value_is_not_awaited() -> None:
    seen: list[fx.RunEvent] = []

    def observe(event: fx.RunEvent) -> int:
        seen.append(event)
        return 42

    with observe_deltas(observe) as sink:
        await sink.emit(delta("x"))
    assert seen == [delta("x")]


async def test_an_observer_error_reaches_the_emitter_and_the_sink_is_reset() -> None:
    def observe(event: fx.RunEvent) -> None:
        raise RuntimeError("observer broke")

    with pytest.raises(RuntimeError, match="observer broke"), observe_deltas(observe) as sink:
        await sink.emit(delta("x"))
    assert event_sink() is None


async def test_step_defaults_to_one_and_is_kept() -> None:
    with observe_deltas(lambda e: None) as default:
        assert default.step == 1
    with observe_deltas(lambda e: None, step=4) as sink:
        assert event_sink() is sink
        assert sink.step == 4


async def test_nested_blocks_shadow_and_restore_the_outer_sink() -> None:
    outer_seen: list[fx.RunEvent] = []
    inner_seen: list[fx.RunEvent] = []
    with observe_deltas(outer_seen.append, step=1) as outer:
        with observe_deltas(inner_seen.append, step=2) as inner:
            assert event_sink() is inner
            current = event_sink()
            assert current is not None
            await current.emit(delta("in", 2))
        assert event_sink() is outer
        current = event_sink()
        assert current is not None
        await current.emit(delta("out"))
    assert event_sink() is None
    assert (outer_seen, inner_seen) == ([delta("out")], [delta("in", 2)])


async def test_an_error_in_a_nested_block_restores_the_outer_sink() -> None:
    with observe_deltas(lambda e: None) as outer:
        with pytest.raises(KeyError), observe_deltas(lambda e: None):
            raise KeyError("inside")
        assert event_sink() is outer
    assert event_sink() is None


async def test_tasks_started_inside_the_block_see_the_sink_and_siblings_do_not() -> None:
    inside = anyio.Event()
    checked = anyio.Event()
    seen: dict[str, EventSink | None] = {}

    async def observed() -> None:
        with observe_deltas(lambda e: None) as sink:
            seen["own"] = sink
            async with anyio.create_task_group() as tg:

                async def child() -> None:
                    seen["child"] = event_sink()

                tg.start_soon(child)
            inside.set()
            await checked.wait()

    async def sibling() -> None:
        await inside.wait()
        seen["sibling"] = event_sink()  # while the other task is still inside its block
        checked.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(observed)
        tg.start_soon(sibling)
    assert seen["own"] is not None
    assert seen["child"] is seen["own"]
    assert seen["sibling"] is None


async def test_a_sink_over_a_stream_delivers_with_backpressure() -> None:
    send, receive = anyio.create_memory_object_stream[fx.RunEvent](0)  # no buffer: each emit waits
    sink = EventSink(send, step=5)
    order: list[str] = []

    async def emitter() -> None:
        for text in ("a", "b"):
            await sink.emit(delta(text, 5))
            order.append(f"sent {text}")
        await send.aclose()

    async with receive, anyio.create_task_group() as tg:
        tg.start_soon(emitter)
        for _ in range(3):
            await anyio.lowlevel.checkpoint()
        assert order == []  # the reader is behind: the first emit is still waiting
        got = [event async for event in receive]
    assert got == [delta("a", 5), delta("b", 5)]
    assert order == ["sent a", "sent b"]
    assert sink.emitted == 2


async def test_emitted_counts_every_event_and_shows_in_the_repr() -> None:
    with observe_deltas(lambda e: None, step=3) as sink:
        assert repr(sink) == "<EventSink step=3 emitted=0>"
        await sink.emit(delta("a", 3))
        await sink.emit(fx.ToolCallStarted(step=3, index=0, id="c1", name="add"))
    assert sink.emitted == 2
    assert repr(sink) == "<EventSink step=3 emitted=2>"


def test_observe_deltas_needs_a_callable() -> None:
    with (
        pytest.raises(TypeError, match=r"observe_deltas\(\) needs a callable taking an event, got \[\]"),
        observe_deltas([]),  # type: ignore[arg-type]
    ):
        pass  # pragma: no cover
    assert event_sink() is None
