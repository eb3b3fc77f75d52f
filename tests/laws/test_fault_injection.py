"""Fault injection over a real HTTP server: parallel and streamed runs succeed or fail typed,
and every tool call is answered exactly once, truthfully.

The model is ``interpreters.openai`` against the fake OpenAI server on 127.0.0.1, scripted
per example with 429s, 5xx, error bodies, malformed JSON, cut streams and hangs between good
replies; the agent runs its tools in parallel (some slow enough to time out) under
``retry`` and ``timeout``, through ``run`` or ``stream``. Whatever happens:

* the run ends in a final state, or raises a ``TowerLLMFXError`` (never anything untyped);
* in every state and trace, each tool call is answered once;
* an answer is true: a call whose tool finished carries its real output; only a call whose
  tool did not finish may say ``timeout``.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.resilience
import tower_llm_fx.trace
from interpreters import agent_interpreter, openai, run, stack, stream
from interpreters.layers import record, retry, timeout
from interpreters.stores import MemoryTraceStore
from tests.support.fake_openai import Completion, ErrorResponse, FakeOpenAI, RawResponse

finished: dict[str, str] = {}  # token -> the output the tool really produced


@fx.tool
async def work(token: str, seconds: float) -> str:
    """Work for a while, then say what was done."""
    await anyio.sleep(seconds)
    finished[token] = f"done {token}"
    return f"done {token}"


AGENT = fx.Agent(
    model="m", tools=(work,), parallel_tools=True, policy=fx.until_no_tool_calls() | fx.max_steps(3)
)
POLICY = fx.resilience.RetryPolicy(max_attempts=3, initial_delay=0.0)
TOOL_DEADLINE = 0.05


def tool_turn(n: int, slow: set[int], turn: int) -> fx.AssistantMessage:
    calls = [
        fx.ToolCallRequest(
            id=f"t{turn}c{i}",
            name="work",
            arguments=f'{{"token": "t{turn}c{i}", "seconds": {5.0 if i in slow else 0.0}}}',
        )
        for i in range(n)
    ]
    return fx.assistant(None, *calls)


faults = st.sampled_from(
    [
        ErrorResponse(status=429, message="slow down", type="rate_limit_error"),
        ErrorResponse(status=500, message="boom", type="server_error"),
        ErrorResponse(status=503, message="overloaded", type="server_error"),
        ErrorResponse(status=400, message="bad request"),  # not retried: a typed failure
        RawResponse(status=200, body=b"{not json"),
        RawResponse(status=502, body=b"<html>bad gateway</html>", content_type="text/html"),
        RawResponse(status=200, body=b'{"error": {"message": "in a 200", "type": "server_error"}}'),
        Completion(reply=fx.ModelReply(message=fx.assistant("cut off mid-stream")), done=False, cut=True),
    ]
)


@st.composite
def scripts(draw: st.DrawFn) -> list[Any]:
    out: list[Any] = []
    for turn in range(draw(st.integers(1, 2))):
        out.extend(draw(st.lists(faults, max_size=3)))
        n = draw(st.integers(1, 3))
        slow = draw(st.sets(st.integers(0, n - 1), max_size=n))
        out.append(
            Completion(reply=fx.ModelReply(message=tool_turn(n, slow, turn), finish_reason="tool_calls"))
        )
    out.extend(draw(st.lists(faults, max_size=2)))
    out.append(Completion(reply=fx.ModelReply(message=fx.assistant("all done"))))
    return out


def check_answers(messages: tuple[fx.Message, ...]) -> None:
    asked = [c.id for m in messages if isinstance(m, fx.AssistantMessage) for c in m.tool_calls]
    answers = [m for m in messages if isinstance(m, fx.ToolMessage)]
    ids = [m.tool_call_id for m in answers]
    assert len(ids) == len(set(ids)), f"a tool call was answered twice: {ids}"
    pending = {c.id for c in fx.pending_tool_calls(messages)}
    assert set(asked) - pending == set(ids), "a tool call was left unanswered"
    for m in answers:
        real = finished.get(m.tool_call_id)
        if real is not None:
            assert m.content == real, f"{m.tool_call_id} finished but was answered {m.content!r}"
        else:
            assert m.content.startswith("error (timeout)"), m.content


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
@pytest.mark.parametrize("streamed", [False, True], ids=["run", "stream"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=scripts())
def test_faulty_provider_runs_end_typed_with_every_tool_call_answered_once_and_truly(
    fake_openai_server: FakeOpenAI, backend: str, streamed: bool, script: list[Any]
) -> None:
    server = fake_openai_server
    server.reset()
    server.push(*script)
    finished.clear()
    store = MemoryTraceStore()

    async def attempt() -> fx.RunState | fx.TowerLLMFXError:
        async with openai(base_url=server.base_url, api_key="sk-test-0123456789abcdef", timeout=5) as model:
            interp = stack(
                record(into=store, trace_id="t"),
                retry(POLICY, models=True),
                timeout({fx.ModelCall: 5.0, fx.ToolCall: TOOL_DEADLINE}),
            )(agent_interpreter(AGENT, model=model))
            try:
                if streamed:
                    async with stream(AGENT, interp, "go") as events:
                        async for _ in events:
                            pass
                    assert events.final is not None
                    return events.final
                return await run(AGENT, interp, "go")
            except fx.TowerLLMFXError as exc:
                return exc

    async def main() -> tuple[fx.RunState | fx.TowerLLMFXError, fx.trace.Trace]:
        with anyio.fail_after(30):
            outcome = await attempt()
        return outcome, await store.load("t")

    outcome, trace = anyio.run(main, backend=backend)
    tool_ids = [ex.effect.id for ex in trace.exchanges if isinstance(ex.effect, fx.ToolCall)]
    assert len(tool_ids) == len(set(tool_ids)), "a tool call was performed twice"
    event(type(outcome).__name__)
    event(
        f"timed-out calls: {sum(1 for ex in trace.exchanges if getattr(ex.result, 'error', None) and ex.result.error.kind == 'timeout')}"
    )
    if isinstance(outcome, fx.RunState):
        check_answers(outcome.messages)
        assert outcome.stop is not None
    else:
        assert isinstance(outcome, fx.TowerLLMFXError)  # typed; the trace holds what was done
    for ex in trace.exchanges:
        if isinstance(ex.effect, fx.ToolCall):
            real = finished.get(ex.effect.id)
            assert ex.result.content == real if real is not None else ex.result.is_error
