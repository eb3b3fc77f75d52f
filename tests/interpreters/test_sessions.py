"""``run_session`` on both session stores (memory, and SQLite in a real file). Trio and asyncio.

The store contract itself is in ``stores/test_sessions.py``, ``with_store`` in ``layers/test_sessions.py``.
"""

from __future__ import annotations

import anyio
import pytest

import tower_llm_fx as fx
import tower_llm_fx.sessions
from interpreters import agent_interpreter, fixed, function, run_session, sequence
from interpreters.layers import with_store
from interpreters.stores import SessionStore, memory_store

pytestmark = pytest.mark.anyio


@fx.tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b


AGENT = fx.Agent(model="m", tools=(add,))


def call(id: str) -> fx.ToolCallRequest:
    return fx.ToolCallRequest(id=id, name="add", arguments='{"a": 1, "b": 2}')


async def test_run_session_carries_history_across_runs(store: SessionStore) -> None:
    seen: list[tuple[fx.Message, ...]] = []

    def model(c: fx.ModelCall) -> fx.AssistantMessage | str:
        seen.append(c.messages)
        if isinstance(c.messages[-1], fx.UserMessage) and c.messages[-1].content == "1+2?":
            return fx.assistant(None, call("c1"))
        return f"reply {len(seen)}"

    interp = agent_interpreter(AGENT, model=function(model))
    first = await run_session(AGENT, interp, "1+2?", session_id="chat", store=store)
    assert first.output == "reply 2"
    second = await run_session(AGENT, interp, "and then?", session_id="chat", store=store)
    assert seen[-1] == (*first.messages, fx.user("and then?"))
    assert (await store.load("chat")).view() == second.messages
    assert second.steps == 1  # steps count this run only


async def test_two_runs_on_one_session_conflict_and_lose_nothing(store: SessionStore) -> None:
    both_loaded = anyio.Event()
    arrived = 0

    async def model(c: fx.ModelCall) -> str:
        nonlocal arrived
        arrived += 1
        if arrived == 2:
            both_loaded.set()
        await both_loaded.wait()
        return f"answer to {c.messages[-1].content}"

    interp = with_store(store)(agent_interpreter(AGENT, model=function(model)))
    outcomes: dict[str, object] = {}

    async def one(text: str) -> None:
        try:
            outcomes[text] = await run_session(AGENT, interp, text, session_id="shared")
        except fx.sessions.SessionConflict as exc:
            outcomes[text] = exc

    async with anyio.create_task_group() as tg:
        tg.start_soon(one, "A")
        tg.start_soon(one, "B")
    winners = [k for k, v in outcomes.items() if isinstance(v, fx.RunState)]
    losers = [k for k, v in outcomes.items() if isinstance(v, fx.sessions.SessionConflict)]
    assert len(winners) == 1 and len(losers) == 1
    log = await store.load("shared")
    assert log.records == (fx.user(winners[0]), fx.assistant(f"answer to {winners[0]}"))


async def test_concurrent_runs_on_different_sessions(store: SessionStore) -> None:
    async def one(i: int) -> None:
        for turn in range(3):
            model = sequence([fx.assistant(None, call(f"c{i}-{turn}")), f"done {i}.{turn}"])
            await run_session(
                AGENT, agent_interpreter(AGENT, model=model), f"q{turn}", session_id=f"s{i}", store=store
            )

    async with anyio.create_task_group() as tg:
        for i in range(8):
            tg.start_soon(one, i)
    for i in range(8):
        view = (await store.load(f"s{i}")).view()
        assert len(view) == 12
        assert [m.content for m in view if isinstance(m, fx.AssistantMessage) and m.content] == [
            f"done {i}.{t}" for t in range(3)
        ]


async def test_a_cancelled_run_keeps_every_completed_step(store: SessionStore) -> None:
    started = anyio.Event()

    @fx.tool
    async def hang() -> str:
        """Never returns."""
        started.set()
        await anyio.sleep_forever()
        return "unreachable"

    agent = fx.Agent(model="m", tools=(add, hang))
    model = sequence(
        [
            fx.assistant(None, call("c1")),
            fx.assistant(None, fx.ToolCallRequest(id="h1", name="hang", arguments="{}")),
        ]
    )
    with anyio.move_on_after(5) as scope:
        async with anyio.create_task_group() as tg:

            async def go() -> None:
                await run_session(
                    agent, agent_interpreter(agent, model=model), "go", session_id="c", store=store
                )

            tg.start_soon(go)
            await started.wait()
            tg.cancel_scope.cancel()
    assert not scope.cancelled_caught
    view = (await store.load("c")).view()
    assert view == (
        fx.user("go"),
        fx.assistant(None, call("c1")),
        fx.ToolMessage(tool_call_id="c1", content="3"),
    )


async def test_run_session_with_compaction_persists_the_compaction(store: SessionStore) -> None:
    policy = fx.sessions.CompactionPolicy(max_messages=4, keep_last_turns=2)
    for i in range(4):
        await run_session(
            AGENT,
            agent_interpreter(AGENT, model=fixed(f"r{i}")),
            f"q{i}",
            session_id="long",
            store=store,
            compaction=policy,
        )
    log = await store.load("long")
    assert [r.content for r in log.originals()] == [x for i in range(4) for x in (f"q{i}", f"r{i}")]
    assert len(log.compactions()) >= 2
    assert log.view()[-2:] == (fx.user("q3"), fx.assistant("r3"))


async def test_a_session_run_with_a_summary_records_and_replays_exactly() -> None:
    from interpreters import replay
    from interpreters.layers import record
    from interpreters.stores import MemoryTraceStore

    store, traces = memory_store(), MemoryTraceStore()
    policy = fx.sessions.CompactionPolicy(
        max_messages=2, keep_last_turns=1, strategy=fx.sessions.summarise("small")
    )

    def model(c: fx.ModelCall) -> str:
        return "a summary" if c.model == "small" else f"re: {c.messages[-1].content}"

    live = agent_interpreter(AGENT, model=function(model))
    await run_session(AGENT, live, "one", session_id="r", store=store)
    recorded_live = record(into=traces, trace_id="t")(with_store(store)(live))
    final = await run_session(AGENT, recorded_live, "two", session_id="r", compaction=policy)
    trace = await traces.load("t")
    kinds = [type(ex.effect).__name__ for ex in trace.exchanges]
    assert kinds == ["LoadSession", "ModelCall", "SaveSession", "ModelCall", "SaveSession"]
    assert trace.exchanges[1].effect.model == "small"  # type: ignore[attr-defined]
    # no store, no model: the recording alone reproduces the run, summary included
    async with replay(trace) as recorded:
        again = await run_session(AGENT, recorded, "two", session_id="r", compaction=policy)
    assert again == final
    assert final.messages[0] == fx.user("[Previous conversation summary]: a summary")
