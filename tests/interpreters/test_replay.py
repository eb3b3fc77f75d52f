"""`replay`: recorded results come back only for equal effects; divergences are reported precisely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest

import tower_llm_fx as fx
import tower_llm_fx.trace
from interpreters import (
    agent_interpreter,
    fixed,
    group_interpreter,
    perform,
    replay,
    replay_run,
    run,
    sequence,
)
from interpreters._run import drive
from interpreters.layers import record
from interpreters.stores import DirectoryTraceStore, MemoryTraceStore, read_trace

pytestmark = pytest.mark.anyio

KEY = "sk-test-abcdefghijklmnopqrstuvwxyz"
finished: list[str] = []
held: dict[int, anyio.Event] = {}  # `add(a, ...)` waits for held[a], when a test holds it (no real sleeps)


@fx.tool
async def add(a: int, b: int) -> int:
    """Add two integers (when a test holds the call, once it lets it go, so calls finish in its order)."""
    gate = held.get(a)
    if gate is not None:
        await gate.wait()
    finished.append(f"{a}+{b}")
    return a + b


@fx.tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


AGENT = fx.Agent(model="m", name="calc", instructions="You are a calculator.", tools=(add, multiply))
PARALLEL = attrs.evolve(AGENT, parallel_tools=True)


def req(i: str, name: str, a: int, b: int) -> fx.ToolCallRequest:
    return fx.ToolCallRequest(id=i, name=name, arguments=f'{{"a": {a}, "b": {b}}}')


SCRIPT: list[fx.AssistantMessage | str] = [
    fx.assistant(None, req("c1", "add", 2, 3)),
    fx.assistant(None, req("c2", "multiply", 5, 4)),
    "(2 + 3) * 4 = 20",
]


def tool_call(ex: fx.trace.Exchange) -> fx.ToolCall:
    assert isinstance(ex.effect, fx.ToolCall)
    return ex.effect


async def recorded(
    agent: fx.Agent = AGENT, script: list[Any] = SCRIPT, text: str = "(2+3)*4?"
) -> tuple[fx.RunState, fx.trace.Trace]:
    store = MemoryTraceStore()
    interp = record(into=store, trace_id="t", agent=agent)(agent_interpreter(agent, model=sequence(script)))
    final = await run(agent, interp, text)
    return final, await store.load("t")


async def test_replay_reproduces_the_final_state_with_no_model_and_no_tools(tmp_path: Path) -> None:
    final, trace = await recorded()
    assert await replay_run(AGENT, trace) == final
    # and from a file, through the JSON Lines format
    store = DirectoryTraceStore(tmp_path)
    interp = record(into=store, trace_id="f")(agent_interpreter(AGENT, model=sequence(SCRIPT)))
    final = await run(AGENT, interp, "(2+3)*4?")
    assert await replay_run(AGENT, read_trace(store.path_of("f"))) == final


async def test_the_replay_interpreter_returns_the_recorded_results() -> None:
    _, trace = await recorded()
    async with replay(trace) as interp:
        for ex in trace.exchanges:
            assert await interp(ex.effect) is ex.result
    assert (interp.used, interp.remaining, interp.handed_over) == (5, 0, 0)
    assert repr(interp) == "replay(<5 exchanges, 5 used>)"


async def test_a_mutated_tool_argument_is_reported_precisely() -> None:
    _, trace = await recorded()

    class Mutated:
        """AGENT, with a wrong multiply argument."""

        start, advance, finish = AGENT.start, AGENT.advance, AGENT.finish
        conversation, events = AGENT.conversation, AGENT.events

        def step(self, state: fx.RunState) -> fx.Effect[Any] | fx.Done:
            effect = AGENT.step(state)
            if isinstance(effect, fx.ToolCall) and effect.name == "multiply":
                return attrs.evolve(effect, arguments='{"a": 5, "b": 40}')
            return effect

    with pytest.raises(fx.trace.ReplayMismatch) as info:
        await drive(Mutated(), replay(trace), fx.RunState.start("(2+3)*4?"))
    err = info.value
    assert err.index == 3
    assert err.expected is trace.exchanges[3]
    assert err.actual == fx.ToolCall(id="c2", name="multiply", arguments='{"a": 5, "b": 40}', agent="calc")
    text = str(err)
    assert text.startswith("the run diverged from the trace at exchange #3 (of 5).")
    assert "matched so far:\n  #0 replay: ModelCall 'm'" in text
    assert '  #1 replay: ToolCall add({"a": 2, "b": 3}) [c1]\n      -> ToolResult [c1] \'5\'' in text
    assert "  #2 replay: ModelCall" in text
    assert 'NOT FOUND: ToolCall multiply({"a": 5, "b": 40}) [c2]' in text
    assert 'NEXT EXPECTED: #3 ToolCall multiply({"a": 5, "b": 4}) [c2]' in text
    assert 'differences (expected -> actual):\n  arguments["b"]: 4 -> 40\n' in text
    assert "recorded result (what replay would have returned):\n  ToolResult [c2] '20'" in text


async def test_a_changed_prompt_diverges_at_the_first_model_call() -> None:
    _, trace = await recorded()
    changed = attrs.evolve(AGENT, instructions="You are a careful calculator.")
    with pytest.raises(fx.trace.ReplayMismatch) as info:
        await replay_run(changed, trace)
    assert info.value.index == 0
    assert "  messages[0].content: 'You are a calculator.' -> 'You are a careful calculator.'" in str(
        info.value
    )
    assert "(nothing matched yet)" in str(info.value)


async def test_changed_model_params_and_tools_are_named() -> None:
    _, trace = await recorded()
    hotter = attrs.evolve(AGENT, params=fx.ModelParams(temperature=0.9), tools=(add,))
    with pytest.raises(fx.trace.ReplayMismatch) as info:
        await replay_run(hotter, trace)
    text = str(info.value)
    assert "params.temperature: None -> 0.9" in text
    assert "tools (length): 2 -> 1" in text


async def test_a_different_kind_of_effect_is_named() -> None:
    _, trace = await recorded()
    interp = replay(trace)
    with pytest.raises(fx.trace.ReplayMismatch, match="effect type: ModelCall -> ToolCall"):
        await interp(fx.ToolCall(id="c1", name="add"))


async def test_unused_recorded_exchanges_are_an_error() -> None:
    _, trace = await recorded()
    impatient = attrs.evolve(AGENT, policy=fx.max_steps(1))
    with pytest.raises(fx.trace.ReplayMismatch) as info:
        await replay_run(impatient, trace)
    err = info.value
    assert err.index == 2
    assert err.actual is None
    assert "the run ended after 2 of 5 recorded exchanges; 3 were never replayed" in str(err)
    assert "NEXT EXPECTED: #2 ModelCall" in str(err)
    interp = replay(trace)
    with pytest.raises(fx.trace.ReplayMismatch, match="ended after 0 of 5"):
        interp.assert_consumed()


async def test_async_with_does_not_mask_the_runs_own_error() -> None:
    _, trace = await recorded()
    with pytest.raises(ZeroDivisionError):
        async with replay(trace):
            raise ZeroDivisionError


async def test_an_effect_past_the_end_is_an_error() -> None:
    _, trace = await recorded()
    interp = replay(trace.prefix(1))
    await interp(trace.exchanges[0].effect)
    with pytest.raises(fx.trace.ReplayMismatch) as info:
        await interp(trace.exchanges[1].effect)
    assert info.value.index == 1
    assert "NEXT EXPECTED: nothing (the recorded run ended here" in str(info.value)
    assert "pass then=<interpreter>" in str(info.value)


async def test_replay_then_continue_hands_over_after_the_prefix() -> None:
    _, trace = await recorded()
    other = agent_interpreter(AGENT, model=fixed("twenty, from another model"))
    final = await replay_run(AGENT, trace, prefix=4, then=other)
    assert final.output == "twenty, from another model"
    replayed = final.messages[:5]
    original = (await replay_run(AGENT, trace)).messages[:5]
    assert replayed == original, "the prefix is identical"


async def test_the_prefix_must_fit_the_trace() -> None:
    _, trace = await recorded()
    for bad in (-1, 6):
        with pytest.raises(fx.ConfigurationError, match="prefix must be between 0 and 5"):
            replay(trace, prefix=bad)
    with pytest.raises(TypeError, match="must be an interpreter"):
        replay(trace, then="gpt-4o")  # type: ignore[arg-type]


async def test_a_prefix_without_then_stops_at_the_prefix() -> None:
    _, trace = await recorded()
    interp = replay(trace, prefix=2)
    for ex in trace.exchanges[:2]:
        await interp(ex.effect)
    interp.finish()
    with pytest.raises(fx.trace.ReplayMismatch, match=r"replaying the first 2 of 5 recorded exchanges"):
        await interp(trace.exchanges[2].effect)


async def test_parallel_tool_calls_replay_deterministically() -> None:
    finished.clear()
    script = [fx.assistant(None, req("a", "add", 1, 1), req("b", "add", 4, 4), req("c", "add", 5, 5)), "done"]
    out: list[tuple[fx.RunState, fx.trace.Trace]] = []

    async def record_it() -> None:
        out.append(await recorded(PARALLEL, script, "sum them"))

    held.update({a: anyio.Event() for a in (1, 4, 5)})
    try:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(record_it)
                await anyio.wait_all_tasks_blocked()  # the three calls are all waiting
                for a in (5, 4, 1):  # let them finish in reverse, each recorded before the next goes
                    held[a].set()
                    await anyio.wait_all_tasks_blocked()
    finally:
        held.clear()
    ((final, trace),) = out
    assert finished == ["5+5", "4+4", "1+1"], "they completed in reverse"
    calls = trace.exchanges[1:4]  # one exchange per call, as they finished
    assert [tool_call(ex).id for ex in calls] == ["c", "b", "a"]
    assert [ex.result.content for ex in calls] == ["10", "8", "2"]
    finished.clear()
    assert await replay_run(PARALLEL, trace) == final
    assert finished == [], "no tool ran during the replay"


async def test_replay_accepts_a_sequence_of_exchanges() -> None:
    _, trace = await recorded()
    interp = replay(list(trace.exchanges))
    assert await interp(trace.exchanges[0].effect) == trace.exchanges[0].result


async def test_a_trace_that_does_not_start_with_a_model_call_needs_an_input() -> None:
    _, trace = await recorded()
    tail = fx.trace.Trace(exchanges=trace.exchanges[1:2])
    with pytest.raises(fx.ConfigurationError, match="pass the input explicitly"):
        await replay_run(AGENT, tail)
    first = trace.exchanges[0].effect
    assert isinstance(first, fx.ModelCall)
    # a resumed run: the state already holds the model's tool call, so the run starts with the tool
    start = fx.RunState(messages=(*first.messages[1:], trace.exchanges[0].result.message))
    final = await replay_run(AGENT, fx.trace.Trace(exchanges=trace.exchanges[1:]), input=start)
    assert final.output == "(2 + 3) * 4 = 20"


async def test_secrets_are_masked_in_files_and_still_replay(tmp_path: Path) -> None:
    text = f"my key is {KEY}, what is 2+3?"
    store = DirectoryTraceStore(tmp_path)
    interp = record(into=store, trace_id="s")(agent_interpreter(AGENT, model=sequence(SCRIPT)))
    final = await run(AGENT, interp, text)
    assert KEY not in store.path_of("s").read_text()
    trace = read_trace(store.path_of("s"))
    # the run's effects hold the key, the trace holds "[REDACTED]": they match once masked alike
    assert await replay_run(AGENT, trace, input=text) == final


async def test_mismatch_messages_never_show_secrets() -> None:
    _, trace = await recorded()
    with pytest.raises(fx.trace.ReplayMismatch) as info:
        await replay_run(AGENT, trace, input=f"my key is {KEY}")
    assert KEY not in str(info.value)
    assert "[REDACTED]" in str(info.value)


async def test_decoded_traces_replay_by_identity() -> None:
    final, trace = await recorded()
    decoded = fx.trace.decode_trace(fx.trace.encode_trace(trace))
    reply = decoded.exchanges[0].result
    later = decoded.exchanges[2].effect
    assert isinstance(later, fx.ModelCall)
    assert later.messages[2] is reply.message
    assert await replay_run(AGENT, decoded) == final


# --- batches: one exchange per call, any order, FAIL_FAST ---------------------


@fx.tool
def boom(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(reason)


@fx.tool
async def nap(seconds: float) -> str:
    """Sleep long enough for FAIL_FAST to cancel it."""
    await anyio.sleep(seconds)
    return "woke"


FAIL_FAST = fx.Agent(
    model="m", name="ff", tools=(add, boom, nap), parallel_tools=True, join_policy=fx.JoinPolicy.FAIL_FAST
)


async def test_a_fail_fast_batch_replays_exactly_though_the_cancelled_call_left_no_exchange() -> None:
    script = [
        fx.assistant(
            None,
            fx.ToolCallRequest(id="x", name="boom", arguments='{"reason": "no"}'),
            fx.ToolCallRequest(id="y", name="nap", arguments='{"seconds": 5.0}'),
        ),
        "done",
    ]
    final, trace = await recorded(FAIL_FAST, script, "go")
    contents = [m.content for m in final.messages if isinstance(m, fx.ToolMessage)]
    assert contents == ["error (tool_raised): RuntimeError: no", "error (cancelled): " + CANCELLED]
    assert [type(ex.effect).__name__ for ex in trace.exchanges] == ["ModelCall", "ToolCall", "ModelCall"]
    for _ in range(5):  # whatever order the scheduler runs the two calls in
        assert await replay_run(FAIL_FAST, trace) == final


CANCELLED = "cancelled: another call of this batch failed and the join policy is FAIL_FAST"


async def test_the_calls_of_a_batch_match_in_any_order_but_each_only_once() -> None:
    script = [fx.assistant(None, req("a", "add", 1, 1), req("b", "multiply", 2, 3)), "done"]
    _, trace = await recorded(PARALLEL, script, "go")
    calls = {tool_call(ex).id: tool_call(ex) for ex in trace.exchanges[1:3]}
    a, b = calls["a"], calls["b"]
    if trace.exchanges[1].effect is b:  # recorded as they finished: ask in the other order
        a, b = b, a
    interp = replay(trace)
    await interp(trace.exchanges[0].effect)
    second = await interp(b)  # out of the recorded order
    assert second.call_id == b.id and (interp.used, interp.remaining) == (2, 2)
    with pytest.raises(fx.trace.ReplayMismatch, match="diverged"):
        await interp(b)  # already used
    assert (await interp(a)).call_id == a.id
    await interp(trace.exchanges[3].effect)
    interp.finish()


# --- v1 traces: written before calls carried their agent ------------------------

V1 = Path(__file__).parent.parent / "data" / "v1"


@fx.tool
def lookup(key: str) -> str:
    """Triage's lookup."""
    return f"triage:{key}"


@fx.tool(name="lookup")
def maths_lookup(key: str) -> str:
    """Maths' lookup: same name, different tool."""
    return f"maths:{key}"


@fx.tool(name="add")
def v1_add(a: int, b: int) -> int:
    """Add."""
    return a + b


@fx.tool(name="fail")
def v1_fail(reason: str) -> str:
    """Always fails."""
    raise RuntimeError(reason)


@fx.tool(name="wait")
async def v1_wait(seconds: float) -> str:
    """Sleep (long enough for FAIL_FAST to cancel it)."""
    await anyio.sleep(seconds)
    return "woke"


TRIAGE = fx.Agent(name="triage", model="m", instructions="Route the user.", tools=(lookup,))
MATHS = fx.Agent(
    name="maths",
    model="m",
    instructions="Do sums.",
    tools=(maths_lookup, v1_add),
    parallel_tools=True,
)
GROUP = (
    fx.group.Group.builder()
    .agent(TRIAGE)
    .agent(MATHS)
    .handoffs(fx.group.handoff_to("maths", offered_to="triage"))
    .build()
)


async def test_a_group_run_recorded_by_v1_replays_from_its_trace_alone() -> None:
    trace = read_trace(V1 / "group_v1.jsonl")
    kinds = [type(ex.effect).__name__ for ex in trace.exchanges]
    assert "Parallel" in kinds and all(
        ex.effect.agent is None for ex in trace.exchanges if isinstance(ex.effect, fx.ToolCall)
    )
    final = await replay_run(GROUP, trace)  # the input is read off the trace
    assert final.path == ("triage", "maths") and final.output == "2 + 3 = 5"
    tool_output = [m.content for m in final.messages if isinstance(m, fx.ToolMessage)]
    assert "triage:user" in tool_output and "maths:table" in tool_output


async def test_a_group_run_recorded_by_v1_resumes_live_after_a_prefix() -> None:
    trace = read_trace(V1 / "group_v1.jsonl")
    batch_at = next(i for i, ex in enumerate(trace.exchanges) if isinstance(ex.effect, fx.Parallel))
    seen: list[fx.ToolCall] = []
    live = group_interpreter(GROUP, model=sequence(["resumed: 5"]))

    async def then(effect: Any) -> Any:
        if isinstance(effect, fx.ToolCall):
            seen.append(effect)
        return await live(effect)

    final = await replay_run(GROUP, trace, prefix=batch_at, then=then)
    assert final.output == "resumed: 5" and final.path == ("triage", "maths")
    # Routing read the live effects: maths' own lookup ran, not triage's tool of the same name.
    assert {c.agent for c in seen} == {"maths"}
    assert "maths:table" in [m.content for m in final.messages if isinstance(m, fx.ToolMessage)]


async def test_a_v1_fail_fast_batch_replays_with_its_recorded_cancellation() -> None:
    trace = read_trace(V1 / "fail_fast_v1.jsonl")
    solo = fx.Agent(
        name="solo",
        model="m",
        tools=(v1_add, v1_fail, v1_wait),
        parallel_tools=True,
        join_policy=fx.JoinPolicy.FAIL_FAST,
    )
    final = await replay_run(solo, trace)
    contents = [m.content for m in final.messages if isinstance(m, fx.ToolMessage)]
    assert contents[0] == "error (tool_raised): RuntimeError: boom" and contents[1] == "2"
    assert fx.text_of(contents[2]).startswith(
        "error (cancelled): cancelled because tool call 'a' (fail) failed"
    )
    assert final.output == "done"


async def test_perform_is_what_run_uses_for_a_batch() -> None:
    interp = agent_interpreter(PARALLEL, model=fixed("x"))
    batch = fx.Parallel(calls=[fx.ToolCall(id="p", name="multiply", arguments='{"a": 2, "b": 2}')])
    assert [r.content for r in await perform(interp, batch)] == ["4"]


async def test_a_changed_call_of_a_batch_is_diffed_against_the_recorded_call_with_its_id() -> None:
    script = [fx.assistant(None, req("a", "add", 1, 1), req("b", "multiply", 2, 3)), "done"]
    _, trace = await recorded(PARALLEL, script, "go")
    b = next(
        tool_call(ex) for ex in trace.exchanges if isinstance(ex.effect, fx.ToolCall) and ex.effect.id == "b"
    )
    interp = replay(trace)
    await interp(trace.exchanges[0].effect)
    with pytest.raises(fx.trace.ReplayMismatch) as info:
        await interp(attrs.evolve(b, arguments='{"a": 2, "b": 4}'))
    assert isinstance(info.value.expected, fx.trace.Exchange) and info.value.expected.effect == b
    assert 'arguments["b"]: 3 -> 4' in str(info.value)  # a field diff against call b
