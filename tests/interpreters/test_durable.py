"""Durable runs: run(..., journal=, run_id=) and resume(...), with real tools, real session stores
(memory and SQLite), real cancellation and timeouts, on trio and asyncio.

A crash is a journal that dies before a chosen write (`DyingJournal`): nothing after it is written,
as when the process is killed (the SIGKILL tests with real processes are in
``stores/test_journal_sqlite.py`` and ``bench/durability.py``).
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

import tower_llm_fx as fx
import tower_llm_fx.group
from interpreters import agent_interpreter, function, group_interpreter, replay_run, resume, run, stream
from interpreters.layers import timeout, with_store
from interpreters.stores import MemoryJournal, SessionStore
from tests.support.durable_kit import DyingJournal, Killed, SideEffects, is_unknown, scripted
from tower_llm_fx.durable import Failure, Intent, Outcome, ToolContext
from tower_llm_fx.sessions import SaveSession, SessionConflict, with_session
from tower_llm_fx.trace import ReplayMismatch, TraceNotFound

pytestmark = pytest.mark.anyio


def call(id: str, name: str, **arguments: Any) -> fx.ToolCallRequest:
    return fx.ToolCallRequest(id=id, name=name, arguments=json.dumps(arguments))


PAY = [
    fx.ModelReply(message=fx.assistant(None, call("c1", "pay", amount=5))),
    fx.ModelReply(message=fx.assistant("Paid.")),
]


def counting_model(script: list[fx.ModelReply], calls: list[fx.ModelCall]) -> Any:
    inner = scripted(script)

    async def model(effect: fx.Effect[Any]) -> Any:
        assert isinstance(effect, fx.ModelCall)
        calls.append(effect)
        return await inner(effect)

    return model


async def crash_before(
    kind: type,
    program: Any,
    agent: fx.Agent,
    journal: MemoryJournal,
    script: list[fx.ModelReply],
    nth: int = 1,
    **kw: Any,
) -> None:
    """Run until just before the ``nth`` journal write of an entry of type ``kind`` (at the call), and die."""
    entries: list[Any] = []

    class Watch(DyingJournal):
        async def append(self, run_id: str, index: int, entry: Any, /) -> None:
            if type(entry) is kind:
                entries.append(entry)
                if len(entries) == nth:
                    self.lives = 0
            await super().append(run_id, index, entry)

    with pytest.raises(Killed):
        await run(
            program,
            kw.pop("interp", None) or agent_interpreter(agent, model=scripted(script)),
            "Go.",
            journal=Watch(journal, 10**6),
            run_id="r",
            **kw,
        )


async def test_a_completed_run_replays_from_its_journal_without_performing_anything() -> None:
    tools = SideEffects()
    agent = fx.Agent(model="m", tools=tools.tools)
    journal, calls = MemoryJournal(), list[fx.ModelCall]()
    first = await run(
        agent, agent_interpreter(agent, model=counting_model(PAY, calls)), "Go.", journal=journal, run_id="r"
    )
    assert first.output == "Paid." and len(calls) == 2 and sum(tools.payments.values()) == 1
    kinds = [type(e).__name__ for e in await journal.entries("r")]
    assert kinds == ["RunBegun", "Intent", "Outcome", "Intent", "Outcome", "Intent", "Outcome"]
    again = await run(
        agent, agent_interpreter(agent, model=counting_model(PAY, calls)), "Go.", journal=journal, run_id="r"
    )
    assert again == first
    assert len(calls) == 2 and sum(tools.payments.values()) == 1  # nothing ran again
    assert len(await journal.entries("r")) == 7  # and nothing was journalled again


async def test_the_idempotency_key_reaches_a_tool_that_asks_for_it() -> None:
    seen: list[ToolContext] = []

    @fx.tool
    def pay(amount: int, ctx: ToolContext) -> str:
        """Pay."""
        seen.append(ctx)
        return "ok"

    assert "ctx" not in pay.spec.schema()["properties"]  # the model never sees it
    agent = fx.Agent(model="m", tools=(pay,))
    await run(
        agent, agent_interpreter(agent, model=scripted(PAY)), "Go.", journal=MemoryJournal(), run_id="order-7"
    )
    assert seen == [ToolContext(call_id="c1", run_id="order-7", idempotency_key="order-7/1/c1", attempt=1)]
    seen.clear()
    await run(agent, agent_interpreter(agent, model=scripted(PAY)), "Go.")  # not durable: no key
    assert seen == [ToolContext(call_id="c1")]


async def test_the_context_rides_on_the_effect_so_a_recording_inside_a_durable_run_replays_anywhere() -> None:
    from interpreters.layers import record
    from interpreters.stores import MemoryTraceStore

    @fx.tool
    def pay(amount: int, ctx: ToolContext) -> str:
        """Pay."""
        return ctx.idempotency_key or "none"

    agent = fx.Agent(model="m", tools=(pay,))
    traces = MemoryTraceStore()
    recorded = record(into=traces, trace_id="t")(agent_interpreter(agent, model=scripted(PAY)))
    final = await run(agent, recorded, "Go.", journal=MemoryJournal(), run_id="order-7")
    trace = await traces.load("t")
    (tool,) = [ex.effect for ex in trace.exchanges if isinstance(ex.effect, fx.ToolCall)]
    assert tool.context == ToolContext(call_id="c1", run_id="order-7", idempotency_key="order-7/1/c1")
    assert (await replay_run(agent, trace)) == final  # a plain run's calls carry none: still equal


@pytest.mark.parametrize("wrapped", [False, True], ids=["memory fast path", "general path"])
async def test_only_a_call_whose_tool_could_read_a_context_carries_one(wrapped: bool) -> None:
    # `add` takes no ToolContext: nothing the program defines would read one, so the run builds
    # none (context_free_tools). `pay` asks for it: its call carries the key all the way down.
    tools = SideEffects()
    agent = fx.Agent(model="m", tools=tools.tools)
    script = [
        fx.ModelReply(message=fx.assistant(None, call("a1", "add", a=1, b=2))),
        fx.ModelReply(message=fx.assistant(None, call("c1", "pay", amount=5))),
        fx.ModelReply(message=fx.assistant("Done.")),
    ]
    seen: list[fx.ToolCall] = []
    inner = agent_interpreter(agent, model=scripted(script))

    async def watching(effect: fx.Effect[Any]) -> Any:
        if isinstance(effect, fx.ToolCall):
            seen.append(effect)
        return await inner(effect)

    journal: Any = DyingJournal(MemoryJournal(), 10**9) if wrapped else MemoryJournal()
    await run(agent, watching, "Go.", journal=journal, run_id="r")
    assert [(c.name, c.context) for c in seen] == [
        ("add", None),
        ("pay", ToolContext(call_id="c1", run_id="r", idempotency_key="r/3/c1")),
    ]
    assert dict(tools.payments) == {"r/3/c1": 1}
    intents = [
        e for e in await journal.entries("r") if isinstance(e, Intent) and isinstance(e.effect, fx.ToolCall)
    ]
    assert [i.idempotency_key for i in intents] == ["r/1/a1", "r/3/c1"]  # the journal keys every call


async def test_a_refused_result_on_the_fast_path_leaves_its_outcome_unknown() -> None:
    # The tool ran, but its interpreter answered with the wrong type: what happened is unknown,
    # as after a crash, so a resume does not run `pay` again (it answers outcome_unknown).
    tools = SideEffects()
    agent = fx.Agent(model="m", tools=tools.tools)
    journal = MemoryJournal()
    inner = agent_interpreter(agent, model=scripted(PAY))

    async def garbling(effect: fx.Effect[Any]) -> Any:
        result = await inner(effect)
        return "garbled" if isinstance(effect, fx.ToolCall) else result

    with pytest.raises(fx.WrongResultType, match="returned str for ToolCall"):
        await run(agent, garbling, "Go.", journal=journal, run_id="r")
    assert dict(tools.payments) == {"r/1/c1": 1}
    assert [type(e).__name__ for e in await journal.entries("r")][-1] == "Intent"  # open
    final = await resume(agent, agent_interpreter(agent, model=scripted(PAY)), journal=journal, run_id="r")
    assert dict(tools.payments) == {"r/1/c1": 1}
    assert is_unknown(final.messages[2]) and final.output == "Paid."
    outcomes = [e for e in await journal.entries("r") if isinstance(e, Outcome) and e.at == 1]
    assert [(o.how, o.attempt, type(o.result)) for o in outcomes] == [("outcome_unknown", 1, fx.ToolResult)]
    again = await resume(agent, agent_interpreter(agent, model=scripted([])), journal=journal, run_id="r")
    assert again == final


async def test_a_tool_killed_before_its_outcome_is_written_is_answered_outcome_unknown() -> None:
    tools = SideEffects()
    agent = fx.Agent(model="m", tools=tools.tools)
    journal = MemoryJournal()
    # Killed between the tool's side effect and the write of its outcome (the second Outcome).
    await crash_before(Outcome, agent, agent, journal, PAY, nth=2)
    assert dict(tools.payments) == {"r/1/c1": 1}
    final = await resume(agent, agent_interpreter(agent, model=scripted(PAY)), journal=journal, run_id="r")
    assert dict(tools.payments) == {"r/1/c1": 1}  # not run again
    answer = final.messages[2]
    assert is_unknown(answer)
    assert "idempotency key r/1/c1" in str(answer.content)
    assert final.output == "Paid."  # the model read it as data and went on
    last = [e for e in await journal.entries("r") if isinstance(e, Outcome) and e.at == 1]
    assert [(o.how, o.attempt) for o in last] == [("outcome_unknown", 1)]


async def test_an_idempotent_tool_or_a_model_call_in_the_crash_window_is_performed_again() -> None:
    tools = SideEffects()
    agent = fx.Agent(model="m", tools=tools.tools)
    script = [
        fx.ModelReply(message=fx.assistant(None, call("a1", "add", a=1, b=2))),
        fx.ModelReply(message=fx.assistant("3.")),
    ]
    journal = MemoryJournal()
    await crash_before(Outcome, agent, agent, journal, script, nth=2)  # add ran, its outcome lost
    calls: list[fx.ModelCall] = []
    final = await resume(
        agent, agent_interpreter(agent, model=counting_model(script, calls)), journal=journal, run_id="r"
    )
    assert tools.adds == 2 and final.messages[2].content == "3"
    assert len(calls) == 1  # only the model call after the tool: the first one was replayed
    intents = [(e.at, e.attempt) for e in await journal.entries("r") if isinstance(e, Intent)]
    assert intents == [(0, 1), (1, 1), (1, 2), (2, 1)]
    # A model call whose outcome was lost is asked again.
    journal = MemoryJournal()
    await crash_before(Outcome, agent, agent, journal, script, nth=1)
    calls.clear()
    await resume(
        agent, agent_interpreter(agent, model=counting_model(script, calls)), journal=journal, run_id="r"
    )
    assert len(calls) == 2


@pytest.mark.parametrize(
    ("verdict", "content", "runs"),
    [("result", "paid already", 1), ("perform", "paid 5", 2), (None, "error (outcome_unknown)", 1)],
)
async def test_a_reconciler_decides_the_crash_window(verdict: Any, content: str, runs: int) -> None:
    tools = SideEffects()
    agent = fx.Agent(model="m", tools=tools.tools)
    journal = MemoryJournal()
    await crash_before(Outcome, agent, agent, journal, PAY, nth=2)
    asked: list[tuple[str, str | None, int]] = []

    async def reconcile(c: fx.ToolCall, ctx: ToolContext) -> Any:
        asked.append((c.name, ctx.idempotency_key, ctx.attempt))
        if verdict == "result":
            return fx.ToolResult.success(call_id=c.id, name=c.name, content="paid already")
        return verdict

    final = await resume(
        agent, agent_interpreter(agent, model=scripted(PAY)), journal=journal, run_id="r", reconcile=reconcile
    )
    assert asked == [("pay", "r/1/c1", 2)]
    assert str(final.messages[2].content).startswith(content)
    assert sum(tools.payments.values()) == runs


async def test_failed_timed_out_and_cancelled_effects_are_journalled_and_retried_as_attempts() -> None:
    agent = fx.Agent(model="m")
    journal = MemoryJournal()
    attempts = 0

    def flaky(c: fx.ModelCall) -> str:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise RuntimeError("the provider fell over")
        return "hi"

    with pytest.raises(RuntimeError):
        await run(agent, agent_interpreter(agent, model=function(flaky)), "Go.", journal=journal, run_id="r")
    final = await resume(agent, agent_interpreter(agent, model=function(flaky)), journal=journal, run_id="r")
    assert final.output == "hi"
    entries = (await journal.entries("r"))[1:]
    assert [(type(e).__name__, getattr(e, "attempt", None)) for e in entries] == [
        ("Intent", 1),
        ("Failure", 1),
        ("Intent", 2),
        ("Outcome", 2),
    ]
    assert isinstance(entries[1], Failure)
    assert (entries[1].kind, entries[1].message) == ("raised", "RuntimeError: the provider fell over")

    async def slow(c: fx.ModelCall) -> str:
        await anyio.sleep(30)
        return "late"

    journal = MemoryJournal()
    with pytest.raises(TimeoutError):
        await run(
            agent,
            timeout({fx.ModelCall: 0.01})(agent_interpreter(agent, model=function(slow))),
            "Go.",
            journal=journal,
            run_id="t",
        )
    (failure,) = [e for e in await journal.entries("t") if isinstance(e, Failure)]
    assert failure.kind == "timeout"

    journal = MemoryJournal()
    with anyio.move_on_after(0.01):
        await run(agent, agent_interpreter(agent, model=function(slow)), "Go.", journal=journal, run_id="c")
    (failure,) = [e for e in await journal.entries("c") if isinstance(e, Failure)]
    assert failure.kind == "cancelled"


async def test_a_parallel_batch_resumes_call_by_call() -> None:
    tools = SideEffects()
    agent = fx.Agent(model="m", tools=tools.tools, parallel_tools=True)
    script = [
        fx.ModelReply(
            message=fx.assistant(
                None, call("p1", "pay", amount=1), call("a1", "add", a=1, b=1), call("p2", "pay", amount=2)
            )
        ),
        fx.ModelReply(message=fx.assistant("Done.")),
    ]
    journal = MemoryJournal()
    live = await run(
        agent, agent_interpreter(agent, model=scripted(script)), "Go.", journal=MemoryJournal(), run_id="r"
    )
    tools = SideEffects()
    agent = fx.Agent(model="m", tools=tools.tools, parallel_tools=True)
    await crash_before(Outcome, agent, agent, journal, script, nth=3)  # the model call and one call done
    final = await resume(agent, agent_interpreter(agent, model=scripted(script)), journal=journal, run_id="r")
    assert all(n == 1 for n in tools.payments.values())
    for mine, theirs in zip(final.messages, live.messages, strict=True):
        assert mine == theirs or is_unknown(mine)
    batch = [e for e in await journal.entries("r") if isinstance(e, Outcome) and e.call is None and e.at == 1]
    assert len(batch) == 1 and len(batch[0].result) == 3


async def test_a_fail_fast_batch_that_failed_before_the_crash_resumes_with_the_same_answers() -> None:
    started = anyio.Event()

    @fx.tool
    async def slow(n: int) -> str:
        """Wait to be cancelled."""
        started.set()
        await anyio.sleep(10)
        return "late"

    @fx.tool
    async def bad(n: int) -> str:
        """Fail once the slow call runs."""
        await started.wait()
        raise RuntimeError("no")

    agent = fx.Agent(model="m", tools=(slow, bad), parallel_tools=True, join_policy=fx.JoinPolicy.FAIL_FAST)
    script = [
        fx.ModelReply(message=fx.assistant(None, call("s1", "slow", n=1), call("b1", "bad", n=1))),
        fx.ModelReply(message=fx.assistant("Done.")),
    ]
    live = await run(
        agent, agent_interpreter(agent, model=scripted(script)), "Go.", journal=MemoryJournal(), run_id="r"
    )
    journal = MemoryJournal()
    # Die just before the batch's own outcome: every call is journalled, the batch's result is not.
    await crash_before(Outcome, agent, agent, journal, script, nth=3)
    open_calls = [e for e in await journal.entries("r") if isinstance(e, Failure)]
    assert [(e.call, e.kind) for e in open_calls] == [(0, "cancelled")]
    final = await resume(agent, agent_interpreter(agent, model=scripted(script)), journal=journal, run_id="r")
    assert final.messages == live.messages  # "cancelled", as in the uninterrupted run (not outcome_unknown)
    (batch,) = [
        e for e in await journal.entries("r") if isinstance(e, Outcome) and e.call is None and e.at == 1
    ]
    assert batch.how == "reconciled" and [r.error.kind for r in batch.result] == ["cancelled", "tool_raised"]


async def test_a_lost_save_is_found_in_the_session_store_not_a_conflict(store: SessionStore) -> None:
    tools = SideEffects()
    agent = fx.Agent(model="m", tools=tools.tools)
    program = with_session(agent, "s")
    interp = with_store(store)(agent_interpreter(agent, model=scripted(PAY)))
    journal = MemoryJournal()

    class AfterSave(DyingJournal):
        async def append(self, run_id: str, index: int, entry: Any, /) -> None:
            if isinstance(entry, Outcome) and isinstance(entry.result, fx.sessions.Saved):
                self.lives = 0  # the save is in the store, its outcome is not in the journal
            await super().append(run_id, index, entry)

    with pytest.raises(Killed):
        await run(program, interp, "Go.", journal=AfterSave(journal, 10**6), run_id="r")
    # Without the journal, re-running the save is a conflict: the store already has it.
    saves = [
        e.effect
        for e in await journal.entries("r")
        if isinstance(e, Intent) and isinstance(e.effect, SaveSession)
    ]
    with pytest.raises(SessionConflict):
        await store(saves[-1])
    final = await resume(program, interp, journal=journal, run_id="r")
    assert final.run.output == "Paid."
    log = await store.load("s")
    assert log.records == final.run.messages  # each message stored once
    assert [
        o.how
        for o in await journal.entries("r")
        if isinstance(o, Outcome) and isinstance(o.result, fx.sessions.Saved)
    ] == ["reconciled", "performed"]  # the lost save was found in the store, the next one ran


async def test_a_group_with_handoffs_resumes() -> None:
    ran: list[str] = []

    @fx.tool
    def refund(order: int) -> str:
        """Refund an order."""
        ran.append(f"refund {order}")
        return f"refunded {order}"

    triage = fx.Agent(model="m-triage", name="triage")
    billing = fx.Agent(model="m-billing", name="billing", tools=(refund,))
    group = fx.group.Group.builder().agent(triage).agent(billing).handoff("triage", "billing").build()
    script = [
        fx.ModelReply(message=fx.assistant(None, call("h1", "handoff_to_billing"))),
        fx.ModelReply(message=fx.assistant(None, call("r1", "refund", order=7))),
        fx.ModelReply(message=fx.assistant("Refunded.")),
    ]
    live = await run(group, group_interpreter(group, model=scripted(script)), "Go.")
    for nth in range(1, 5):
        ran.clear()
        journal = MemoryJournal()
        await crash_before(
            Outcome,
            group,
            triage,
            journal,
            script,
            nth=nth,
            interp=group_interpreter(group, model=scripted(script)),
        )
        final = await resume(
            group, group_interpreter(group, model=scripted(script)), journal=journal, run_id="r"
        )
        assert final.path == live.path == ("triage", "billing")
        assert ran == ["refund 7"]
        assert len(final.messages) == len(live.messages)
        for mine, theirs in zip(final.messages, live.messages, strict=True):
            assert mine == theirs or is_unknown(mine)


async def test_the_journal_replays_as_a_trace() -> None:
    tools = SideEffects()
    agent = fx.Agent(model="m", tools=tools.tools)
    journal = MemoryJournal()
    await crash_before(Intent, agent, agent, journal, PAY, nth=3)  # died before the last model call
    final = await resume(agent, agent_interpreter(agent, model=scripted(PAY)), journal=journal, run_id="r")
    trace = await journal.load("r")
    assert [type(ex.effect).__name__ for ex in trace.exchanges] == ["ModelCall", "ToolCall", "ModelCall"]
    assert (await replay_run(agent, trace)) == final


async def test_misuse_is_an_error_that_says_what_to_do() -> None:
    agent = fx.Agent(model="m")
    journal = MemoryJournal()
    interp = agent_interpreter(agent, model=scripted([]))
    with pytest.raises(TypeError, match="both journal= and run_id="):
        await run(agent, interp, "Go.", journal=journal)
    with pytest.raises(TraceNotFound, match="no journal for run 'nope'"):
        await resume(agent, interp, journal=journal, run_id="nope")
    await run(agent, interp, "Go.", journal=journal, run_id="r")
    with pytest.raises(fx.ConfigurationError, match=r"began with the input 'Go\.'"):
        await run(agent, interp, "Stop.", journal=journal, run_id="r")
    with pytest.raises(ReplayMismatch, match="different ModelCall at effect 0"):
        await resume(fx.Agent(model="other"), interp, journal=journal, run_id="r")


@pytest.mark.parametrize("wrapped", [False, True], ids=["memory fast path", "general path"])
async def test_one_run_id_run_twice_at_once_is_refused_not_interleaved(wrapped: bool) -> None:
    # Both runs start before either journals anything; the second to write finds the journal
    # moved on under it and stops with an error naming the run (the other one finishes).
    agent = fx.Agent(model="m", tools=SideEffects().tools)
    memory = MemoryJournal()
    journal: Any = DyingJournal(memory, 10**9) if wrapped else memory

    async def model(effect: fx.Effect[Any]) -> Any:
        await anyio.sleep(0.01)  # both runs are in flight here
        return await scripted(PAY)(effect)

    outcomes: list[object] = []

    async def one() -> None:
        try:
            final: fx.RunState = await run(
                agent, agent_interpreter(agent, model=model), "Go.", journal=journal, run_id="r"
            )
            outcomes.append(final)
        except Exception as exc:
            outcomes.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(one)
        tg.start_soon(one)
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert len(errors) >= 1, outcomes
    assert all("'r'" in str(e) and "never resume one run twice at once" in str(e) for e in errors), errors


async def test_a_streamed_durable_run_resumes_with_the_events_of_an_uninterrupted_one() -> None:
    tools = SideEffects()
    agent = fx.Agent(model="m", tools=tools.tools)
    model = scripted(PAY)

    async def streamed(interp: Any, journal: MemoryJournal) -> tuple[list[str], Any]:
        async with stream(agent, interp, "Go.", journal=journal, run_id="r") as events:
            kinds = [type(e).__name__ async for e in events]
        return kinds, events.result

    live_kinds, live_final = await streamed(agent_interpreter(agent, model=model), MemoryJournal())
    assert sum(tools.payments.values()) == 1
    calls = 0

    async def fails_second(effect: fx.Effect[Any]) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("the provider fell over")
        return await model(effect)

    journal = MemoryJournal()
    with pytest.raises(RuntimeError, match="fell over"):
        await streamed(agent_interpreter(agent, model=fails_second), journal)
    assert sum(tools.payments.values()) == 2  # the first run paid once, this one once
    kinds, final = await streamed(agent_interpreter(agent, model=model), journal)
    assert (kinds, final) == (live_kinds, live_final)
    assert sum(tools.payments.values()) == 2  # the resume replayed the payment
    with pytest.raises(TypeError, match="both journal= and run_id="):
        stream(agent, agent_interpreter(agent, model=model), "Go.", run_id="r")


async def test_a_wrong_result_is_the_same_error_plain_or_durable_on_either_path() -> None:
    agent = fx.Agent(model="m")

    async def model(effect: fx.Effect[Any]) -> Any:
        return "not a reply"

    messages = []
    for journal in (None, MemoryJournal(), DyingJournal(MemoryJournal(), 10**9)):
        kw: dict[str, Any] = {} if journal is None else {"journal": journal, "run_id": "r"}
        with pytest.raises(
            fx.WrongResultType, match=r"returned str for ModelCall; expected ModelReply"
        ) as info:
            await run(agent, model, "Go.", **kw)
        messages.append(str(info.value))
    assert len(set(messages)) == 1, messages
