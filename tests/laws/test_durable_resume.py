"""Law: for any run and any crash point, resuming from the journal gives the uninterrupted run's state,
except ``outcome_unknown`` answers to non-idempotent tools caught in the crash window; no such tool
ever runs twice, and the journal replays as a trace.

A crash is a journal that dies before its n-th write (`DyingJournal`): nothing after that point is
written, exactly as when the process is killed, including between a tool's side effect and the write
of its outcome. Real components: ``local_tools``, the memory journal and session store, both backends.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from hypothesis import given, note
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.group
from interpreters import agent_interpreter, group_interpreter, replay_run, resume, run
from interpreters.layers import with_store
from interpreters.stores import MemoryJournal, memory_store
from tests.support.durable_kit import (
    DyingJournal,
    Killed,
    SideEffects,
    is_unknown,
    same_but_unknown,
    scripted,
)
from tower_llm_fx import strategies as fxst
from tower_llm_fx.sessions import with_session

_SPECS = tuple(t.spec for t in SideEffects().tools)


def _agent(tools: SideEffects, parallel: bool, join: fx.JoinPolicy) -> fx.Agent:
    return fx.Agent(
        model="m",
        tools=tools.tools,
        policy=fx.until_no_tool_calls() | fx.max_steps(6),
        parallel_tools=parallel,
        join_policy=join,
    )


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
@given(
    script=fxst.model_scripts(tools=_SPECS, max_replies=4, max_calls=4),
    parallel=st.booleans(),
    join=st.sampled_from(fx.JoinPolicy),
    session=st.booleans(),
    crash=st.floats(0, 1, exclude_max=True),
)
def test_resume_is_the_uninterrupted_run_except_outcome_unknown_answers(
    backend: str,
    script: tuple[fx.ModelReply, ...],
    parallel: bool,
    join: fx.JoinPolicy,
    session: bool,
    crash: float,
) -> None:
    async def main() -> None:
        # The uninterrupted run, and how many journal writes it makes.
        live_tools = SideEffects()
        agent = _agent(live_tools, parallel, join)
        program: Any = with_session(agent, "s") if session else agent
        live_journal = MemoryJournal()
        interp = with_store(memory_store())(agent_interpreter(agent, model=scripted(script)))
        uninterrupted = await run(program, interp, "Go.", journal=live_journal, run_id="r")
        writes = len(await live_journal.entries("r"))

        # The same run killed before write number `lives`, then resumed with fresh interpreters.
        tools = SideEffects()
        agent = _agent(tools, parallel, join)
        program = with_session(agent, "s") if session else agent
        journal, store = MemoryJournal(), memory_store()
        lives = 1 + int(crash * (writes - 1))
        note(f"{writes} writes, killed before #{lives}")
        dying = DyingJournal(journal, lives)
        with pytest.raises(Killed):
            await run(
                program,
                with_store(store)(agent_interpreter(agent, model=scripted(script))),
                "Go.",
                journal=dying,
                run_id="r",
            )
        resumed = await resume(
            program,
            with_store(store)(agent_interpreter(agent, model=scripted(script))),
            journal=journal,
            run_id="r",
        )

        a = resumed.run if session else resumed
        b = uninterrupted.run if session else uninterrupted
        assert same_but_unknown(a, b), (a.messages, b.messages)
        if session:
            assert resumed.last_seq == uninterrupted.last_seq
            assert (await store.load("s")).records[: len(a.messages)] == a.messages
        # Tools are run at most once each; only a non-idempotent one can be answered "unknown".
        assert all(n == 1 for n in tools.payments.values()), tools.payments
        unknown = [m for m in a.messages if is_unknown(m)]
        assert len(unknown) <= sum(1 for m in b.messages if isinstance(m, fx.ToolMessage))
        # A second resume replays everything: nothing runs again.
        before = (dict(tools.payments), tools.adds)
        again = await resume(
            program, agent_interpreter(agent, model=scripted(())), journal=journal, run_id="r"
        )
        assert again == resumed
        assert (dict(tools.payments), tools.adds) == before
        # The journal is a trace: it replays to the same conversation.
        if not session:
            replayed = await replay_run(agent, await journal.load("r"))
            assert replayed.messages == a.messages

    anyio.run(main, backend=backend)


def _group(tools: SideEffects) -> Any:
    a = fx.Agent(model="m-a", name="a", tools=tools.tools, policy=fx.until_no_tool_calls() | fx.max_steps(6))
    b = fx.Agent(model="m-b", name="b", tools=tools.tools, policy=fx.until_no_tool_calls() | fx.max_steps(6))
    return fx.group.Group.builder().agent(a).agent(b).handoff("a", "b").handoff("b", "a").build()


_GROUP_SPECS = tuple(
    {t.name: t.spec for n in ("a", "b") for t in _group(SideEffects()).agent(n).tools}.values()
)


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
@given(
    script=fxst.model_scripts(tools=_GROUP_SPECS, max_replies=4, max_calls=3),
    crash=st.floats(0, 1, exclude_max=True),
)
def test_a_group_with_handoffs_resumes_as_it_would_have_run(
    backend: str, script: tuple[fx.ModelReply, ...], crash: float
) -> None:
    async def main() -> None:
        group = _group(SideEffects())
        live_journal = MemoryJournal()
        uninterrupted = await run(
            group, group_interpreter(group, model=scripted(script)), "Go.", journal=live_journal, run_id="g"
        )
        writes = len(await live_journal.entries("g"))

        tools = SideEffects()
        group = _group(tools)
        journal = MemoryJournal()
        with pytest.raises(Killed):
            await run(
                group,
                group_interpreter(group, model=scripted(script)),
                "Go.",
                journal=DyingJournal(journal, 1 + int(crash * (writes - 1))),
                run_id="g",
            )
        resumed = await resume(
            group, group_interpreter(group, model=scripted(script)), journal=journal, run_id="g"
        )
        assert same_but_unknown(group.conversation(resumed), group.conversation(uninterrupted))
        assert resumed.path == uninterrupted.path  # handoffs are idempotent: never lost to "unknown"
        assert all(n == 1 for n in tools.payments.values()), tools.payments

    anyio.run(main, backend=backend)


class _Boom(Exception):
    pass


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
@given(
    script=fxst.model_scripts(tools=_SPECS, max_replies=4, max_calls=4),
    parallel=st.booleans(),
    join=st.sampled_from(fx.JoinPolicy),
    fail_at=st.none() | st.integers(0, 3),
)
def test_the_in_memory_fast_path_journals_what_the_general_path_journals(
    backend: str,
    script: tuple[fx.ModelReply, ...],
    parallel: bool,
    join: fx.JoinPolicy,
    fail_at: int | None,
) -> None:
    # A new run into a MemoryJournal appends to its list inline, as pairs (drive_durable's fast
    # path); through a wrapper without that list it takes the general path (_Journaling.live).
    # Same entries, failures included, and the same final state.
    async def one(journal: Any) -> tuple[Any, tuple[Any, ...]]:
        tools = SideEffects()
        agent = _agent(tools, parallel, join)
        inner = scripted(script)
        calls = 0

        async def model(effect: fx.Effect[Any]) -> Any:
            nonlocal calls
            calls += 1
            if calls - 1 == fail_at:
                raise _Boom(f"model call {calls} failed")
            return await inner(effect)

        try:
            final: Any = await run(
                agent, agent_interpreter(agent, model=model), "Go.", journal=journal, run_id="r"
            )
        except _Boom as exc:
            final = str(exc)
        return final, await journal.entries("r")

    def by_position(entries: tuple[Any, ...]) -> dict[Any, list[Any]]:
        # The calls of a parallel batch interleave as their tasks are scheduled (an inline
        # append does not switch tasks, an awaited one may): compare each position's entries.
        out: dict[Any, list[Any]] = {}
        for entry in entries:
            out.setdefault((getattr(entry, "at", None), getattr(entry, "call", None)), []).append(entry)
        return out

    async def main() -> None:
        (fast, entries), (general, expected) = (
            await one(MemoryJournal()),
            await one(DyingJournal(MemoryJournal(), 10**9)),
        )
        assert fast == general
        assert len(entries) == len(expected)
        assert by_position(entries) == by_position(expected)

    anyio.run(main, backend=backend)
