"""interpreters._threads: blocking work in a worker thread that a cancellation stops early (trio and asyncio)."""

from __future__ import annotations

import threading

import anyio
import pytest

from interpreters._threads import interruptible

pytestmark = pytest.mark.anyio


async def test_the_result_comes_back_and_the_work_s_error_is_raised() -> None:
    stop = threading.Event()
    assert await interruptible(lambda: 6 * 7, stop=stop, interrupt=lambda: None) == 42

    def boom() -> None:
        raise LookupError("no such row")

    with pytest.raises(LookupError, match="no such row"):
        await interruptible(boom, stop=stop, interrupt=lambda: None)
    assert not stop.is_set()


async def test_a_cancellation_interrupts_the_work_and_waits_for_the_thread() -> None:
    stop = threading.Event()
    interrupted = threading.Event()
    started = threading.Event()
    finished: list[str] = []

    def slow() -> None:
        started.set()
        if not interrupted.wait(30):  # a long statement that only an interrupt ends early
            finished.append("ran to the end")
            return
        finished.append("interrupted")

    async def work() -> None:
        await interruptible(slow, stop=stop, interrupt=interrupted.set)

    with anyio.move_on_after(30) as outer:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(work)
                await anyio.to_thread.run_sync(started.wait)
                scope.cancel()
    assert not outer.cancelled_caught  # back long before the 30 s the work would take
    assert stop.is_set() and interrupted.is_set()
    assert finished == ["interrupted"]  # the thread had let go before the cancellation was raised
