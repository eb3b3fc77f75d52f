"""Laws of sessions, over random model behaviour, with the real in-memory store:

* the store's conversation is always valid (no tool call without its result);
* after a run, the stored conversation equals the run's conversation;
* a crash at any effect loses at most the step in flight;
* compaction never destroys: the log's originals equal the uncompacted conversation.
"""

from __future__ import annotations

from functools import partial

import trio
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.sessions
from interpreters import Interpreter, agent_interpreter, function, perform
from interpreters.layers import with_store
from interpreters.stores import MemoryStore, memory_store

from ._conversations import check_valid


@fx.tool
def add(a: int, b: int) -> int:
    """Add."""
    return a + b


SID = "law"
Script = list[list[fx.AssistantMessage]]  # per run: tool turns, then a final text turn


@st.composite
def scripts(draw: st.DrawFn) -> Script:
    counter = 0
    runs: Script = []
    for r in range(draw(st.integers(1, 3))):
        turns: list[fx.AssistantMessage] = []
        for _ in range(draw(st.integers(0, 3))):
            calls = []
            for _ in range(draw(st.integers(1, 3))):
                counter += 1
                calls.append(
                    fx.ToolCallRequest(id=f"c{counter}", name="add", arguments=f'{{"a": {counter}, "b": 1}}')
                )
            turns.append(fx.AssistantMessage(tool_calls=tuple(calls)))
        turns.append(fx.assistant(f"answer {r}"))
        runs.append(turns)
    return runs


def make_model(script: Script) -> Interpreter:
    replies = [turn for run in script for turn in run]
    used = [0]

    def model(call: fx.ModelCall) -> fx.AssistantMessage | str:
        if call.model == "summariser":
            return f"summary of {str(call.messages[1].content).count(chr(10)) + 1} lines"
        used[0] += 1
        return replies[used[0] - 1]

    return function(model)


async def run_all(
    agent: fx.Agent,
    script: Script,
    store: MemoryStore,
    *,
    compaction: fx.sessions.CompactionPolicy | None = None,
    crash_after: int | None = None,
) -> tuple[fx.sessions.SessionState, int]:
    """Run one session run per scripted run; stop dead after ``crash_after`` effects.

    The loop of ``interpreters.run``, by hand so that it can stop anywhere; like ``run``, it
    performs each effect with ``perform`` (a parallel batch goes call by call).
    """
    interp = with_store(store)(agent_interpreter(agent, model=make_model(script)))
    performed = 0
    state: fx.sessions.SessionState | None = None
    for i in range(len(script)):
        session = fx.sessions.with_session(agent.step, SID, compaction=compaction)
        state = session.start(f"question {i}")
        while True:
            out = session(state)
            if isinstance(out, fx.Done):
                state = session.finish(state, out)
                break
            if crash_after is not None and performed >= crash_after:
                return state, performed
            result = await perform(interp, out)
            performed += 1
            state = session.advance(state, out, result)
            if isinstance(out, fx.sessions.SaveSession):
                check_valid((await store.load(SID)).view())
    assert state is not None
    return state, performed


AGENTS = [
    fx.Agent(model="m", tools=(add,), policy=fx.max_steps(50)),
    fx.Agent(model="m", tools=(add,), policy=fx.max_steps(50), parallel_tools=True),
]


@given(scripts(), st.sampled_from(AGENTS))
def test_the_store_holds_exactly_the_conversation(script: Script, agent: fx.Agent) -> None:
    store = memory_store()
    final, _ = trio.run(run_all, agent, script, store)
    log = trio.run(store.load, SID)
    assert log.view() == final.run.messages
    assert final.unsaved == ()
    assert sum(isinstance(m, fx.UserMessage) for m in log.view()) == len(script)


@given(scripts(), st.sampled_from(AGENTS), st.data())
def test_a_crash_anywhere_loses_at_most_the_step_in_flight(
    script: Script, agent: fx.Agent, data: st.DataObject
) -> None:
    full_store = memory_store()
    full, total = trio.run(run_all, agent, script, full_store)
    crash_after = data.draw(st.integers(0, total))
    store = memory_store()
    at_crash, _ = trio.run(partial(run_all, agent, script, store, crash_after=crash_after))
    stored = trio.run(store.load, SID).view()
    check_valid(stored)
    assert full.run.messages[: len(stored)] == stored
    if at_crash.loaded:  # (otherwise the crash came between two runs)
        assert stored == at_crash.run.messages[: at_crash.saved]
        in_flight = at_crash.unsaved
        assert sum(isinstance(m, fx.AssistantMessage) for m in in_flight) <= 1, in_flight


policies = st.builds(
    fx.sessions.CompactionPolicy,
    max_messages=st.integers(2, 8),
    keep_last_turns=st.integers(0, 3),
    strategy=st.sampled_from([fx.sessions.drop_oldest(), fx.sessions.summarise("summariser")]),
)


@given(scripts(), st.sampled_from(AGENTS), policies)
def test_compaction_keeps_the_originals_and_a_valid_view(
    script: Script, agent: fx.Agent, policy: fx.sessions.CompactionPolicy
) -> None:
    plain_store, store = memory_store(), memory_store()
    plain, _ = trio.run(run_all, agent, script, plain_store)
    compacted, _ = trio.run(partial(run_all, agent, script, store, compaction=policy))
    log = trio.run(store.load, SID)
    assert log.originals() == plain.run.messages
    assert log.view() == compacted.run.messages
    check_valid(log.view())
    for seq, record in log.compactions():
        assert record.first_seq < seq and record.last_seq < seq
        assert record.strategy == repr(policy.strategy)


def test_compaction_happens_in_a_long_session() -> None:
    script: Script = [[fx.assistant(f"a{i}")] for i in range(12)]
    policy = fx.sessions.CompactionPolicy(
        max_messages=6, keep_last_turns=2, strategy=fx.sessions.summarise("summariser")
    )
    store = memory_store()
    final, _ = trio.run(partial(run_all, AGENTS[0], script, store, compaction=policy))
    log = trio.run(store.load, SID)
    assert len(log.compactions()) >= 3
    assert len(final.run.messages) <= 7
    assert final.run.messages[0].content.startswith("[Previous conversation summary]: summary of")  # type: ignore[union-attr]
