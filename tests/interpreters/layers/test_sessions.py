"""`with_store`: the layer that sends ``LoadSession`` / ``SaveSession`` to a store and the rest inward.

Covers: routing in both directions (the store never sees a model or tool effect, the inner
interpreter never sees a session effect), results and errors passing through unchanged, a real
SQLite store behind the layer, use inside ``stack``, bad input and the reprs. Trio and asyncio.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tower_llm_fx as fx
import tower_llm_fx.sessions
from interpreters import Interpreter, agent_interpreter, fixed, perform, run_session, stack
from interpreters.layers import with_store
from interpreters.stores import memory_store, open_sqlite_store

pytestmark = pytest.mark.anyio


@fx.tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b


AGENT = fx.Agent(model="m", tools=(add,))
LOAD = fx.sessions.LoadSession(session_id="s")
SAVE = fx.sessions.SaveSession(session_id="s", after_seq=0, records=(fx.user("hi"),))
MODEL_CALL = fx.ModelCall(model="m", messages=(fx.user("x"),))
TOOL_CALL = fx.ToolCall(id="c1", name="add", arguments='{"a": 1, "b": 2}')


def logging(into: list[str], inner: Interpreter) -> Interpreter:
    """``inner``, noting the type of each effect it performs."""

    async def interp(effect: fx.Effect[Any]) -> Any:
        into.append(type(effect).__name__)
        return await inner(effect)

    return interp


# --- moved verbatim from tests/interpreters/test_sessions.py ---


async def test_with_store_routes_and_run_session_checks_its_agent() -> None:
    store = memory_store()
    interp = with_store(store)(fixed("hi"))
    assert repr(interp) == "with_store(memory_store(<0 sessions>))(fixed('hi'))"
    assert (await interp(fx.ModelCall(model="m", messages=(fx.user("x"),)))).message.content == "hi"
    assert await interp(fx.sessions.LoadSession(session_id="q")) == fx.sessions.SessionLog(session_id="q")
    with pytest.raises(TypeError, match="expects an Agent"):
        await run_session(AGENT.step, interp, "x", session_id="q")  # type: ignore[arg-type]


# --- routing ---


async def test_session_effects_go_to_the_store_and_nothing_else_does() -> None:
    to_store: list[str] = []
    inward: list[str] = []
    inner = logging(inward, agent_interpreter(AGENT, model=fixed("ok")))
    interp = with_store(logging(to_store, memory_store()))(inner)
    assert await interp(SAVE) == fx.sessions.Saved(session_id="s", last_seq=1)
    assert (await interp(LOAD)).records == (fx.user("hi"),)
    assert (await interp(MODEL_CALL)).message.content == "ok"
    assert (await interp(TOOL_CALL)).content == "3"
    assert (await perform(interp, fx.Parallel(calls=(TOOL_CALL,))))[0].content == "3"
    assert to_store == ["SaveSession", "LoadSession"]
    assert inward == ["ModelCall", "ToolCall", "ToolCall"]


async def test_a_store_error_reaches_the_caller_unchanged() -> None:
    store = memory_store()
    interp = with_store(store)(fixed("x"))
    await interp(SAVE)
    with pytest.raises(fx.sessions.SessionConflict) as info:
        await interp(SAVE)  # the same save again: the session has moved on
    assert (info.value.expected_seq, info.value.actual_seq) == (0, 1)


async def test_a_run_session_through_the_layer_lands_in_a_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "sessions.db"
    async with open_sqlite_store(db) as store:
        interp = with_store(store)(agent_interpreter(AGENT, model=fixed("hello")))
        final = await run_session(AGENT, interp, "hi", session_id="chat")
    async with open_sqlite_store(db) as reopened:
        assert (
            (await reopened.load("chat")).view() == final.messages == (fx.user("hi"), fx.assistant("hello"))
        )


async def test_with_store_works_as_a_layer_in_a_stack() -> None:
    store = memory_store()
    seen: list[str] = []

    def outer(inner: Interpreter) -> Interpreter:
        return logging(seen, inner)

    interp = stack(outer, with_store(store))(fixed("x"))
    await interp(SAVE)
    await interp(MODEL_CALL)
    assert seen == ["SaveSession", "ModelCall"]  # the outer layer sees both
    assert (await store.load("s")).last_seq == 1
    assert repr(stack(with_store(store))) == "stack(with_store(memory_store(<1 sessions>)))"


# --- bad input and repr ---


def test_with_store_needs_a_store() -> None:
    with pytest.raises(
        TypeError, match=r"with_store\(\) needs a session store \(an interpreter\), got 'db.sqlite'"
    ):
        with_store("db.sqlite")  # type: ignore[arg-type]


def test_the_layer_and_the_interpreter_show_the_store() -> None:
    store = memory_store()
    layer = with_store(store)
    assert repr(layer) == "with_store(memory_store(<0 sessions>))"
    assert repr(layer(fixed("hi"))) == "with_store(memory_store(<0 sessions>))(fixed('hi'))"
