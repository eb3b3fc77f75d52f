"""`interruptible`: run blocking work in a worker thread that a cancellation can stop early.

Theory: a database call in a worker thread cannot be abandoned half-way (the
connection must not serve the next call while a statement of this one still
runs), so the thread call is shielded; but waiting for a long save to finish
would make a deadline meaningless. A cancellation of the caller therefore sets
``stop`` (the work checks it before it begins a transaction) and calls
``interrupt`` (SQLite's ``Connection.interrupt``, Postgres's cancel request),
and is raised as soon as the thread lets go: in microseconds rather than after
the whole statement.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar, cast

import anyio
import anyio.to_thread

__all__ = ["interruptible"]

T = TypeVar("T")


async def interruptible(fn: Callable[[], T], *, stop: threading.Event, interrupt: Callable[[], object]) -> T:
    """``fn()`` in a worker thread; if the caller is cancelled meanwhile, ``stop`` is set,
    ``interrupt()`` is called, and the cancellation is raised once the thread has returned.

    >>> import threading, trio
    >>> trio.run(lambda: interruptible(lambda: 6 * 7, stop=threading.Event(), interrupt=lambda: None))
    42
    """
    box: list[tuple[bool, Any]] = []

    async with anyio.create_task_group() as tg:

        async def call() -> None:
            with anyio.CancelScope(shield=True):
                try:
                    box.append((True, await anyio.to_thread.run_sync(fn)))
                except Exception as exc:
                    box.append((False, exc))
            tg.cancel_scope.cancel()

        tg.start_soon(call)
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            if not box:  # cancelled from outside, not by call() finishing
                stop.set()
                interrupt()
            raise
    ok, value = box[0]
    if not ok:
        raise value
    return cast("T", value)
