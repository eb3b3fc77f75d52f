"""`replay`: recorded results come back only for equal effects; divergences are reported precisely."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import attrs
import pytest

import tower_llm_fx as fx
import tower_llm_fx.trace
from interpreters import agent_interpreter, drive, fixed, replay, replay_run, run, sequence
from interpreters.layers import record
from interpreters.stores import DirectoryTraceStore, MemoryTraceStore, read_trace

pytestmark = pytest.mark.anyio

KEY = "sk-test-abcdefghijklmnopqrstuvwxyz"
finished: list[str] = []


@fx.tool
async def add(a: int, b: int) -> int:
    """Add two integers (slowly for small sums, so parallel calls finish out of order)."""
    await anyio.sleep(0.01 * max(0, 5 - a))
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

    def mutated(state: fx.RunState) -> fx.Effect[Any] | fx.Done:
        effect = AGENT.step(state)
        if isinstance(effect, fx.ToolCall) and effect.name == "multiply":
            return attrs.evolve(effect, arguments='{"a": 5, "b": 40}')
        return effect

    with pytest.raises(fx.trace.ReplayMismatch) as info:
        await drive(mutated, replay(trace), fx.RunState.start("(2+3)*4?"), advance=fx.advance)
    err = info.value
    assert err.index == 3
    assert err.expected is trace.exchanges[3]
    assert err.actual == fx.ToolCall(id="c2", name="multiply", arguments='{"a": 5, "b": 40}')
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
    final, trace = await recorded(PARALLEL, script, "sum them")
    assert finished == ["5+5", "4+4", "1+1"], "they completed in reverse"
    batch = trace.exchanges[1]
    assert isinstance(batch.effect, fx.Parallel)
    assert [r.content for r in batch.result] == ["2", "8", "10"]
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
