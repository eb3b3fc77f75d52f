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

The second law adds model *hangs*: the server stalls before the body, mid-body, or mid-stream
(a tool-call turn that stops after its first chunks, then comes again whole), and a short
``ModelCall`` deadline cancels each stalled attempt so ``retry`` can try again.
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
            assert isinstance(m.content, str) and m.content.startswith("error (timeout)"), m.content


def run_against(
    server: FakeOpenAI, script: list[Any], *, backend: str, streamed: bool, model_deadline: float
) -> None:
    """Run the agent over ``script``; check the outcome is typed and every answer true and unique."""
    server.reset()
    server.push(*script)
    finished.clear()
    store = MemoryTraceStore()

    async def attempt() -> fx.RunState | fx.TowerLLMFXError:
        async with openai(base_url=server.base_url, api_key="sk-test-0123456789abcdef", timeout=5) as model:
            interp = stack(
                record(into=store, trace_id="t"),
                retry(POLICY, models=True),
                timeout({fx.ModelCall: model_deadline, fx.ToolCall: TOOL_DEADLINE}),
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


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
@pytest.mark.parametrize("streamed", [False, True], ids=["run", "stream"])
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=scripts())
def test_faulty_provider_runs_end_typed_with_every_tool_call_answered_once_and_truly(
    fake_openai_server: FakeOpenAI, backend: str, streamed: bool, script: list[Any]
) -> None:
    run_against(fake_openai_server, script, backend=backend, streamed=streamed, model_deadline=5.0)


# -- hangs -------------------------------------------------------------------------------

HANG = 30.0  # how long a stalled response would stay silent; the deadline ends it long before
MODEL_DEADLINE = 0.5  # per attempt; a hang costs this much, so scripts hold at most two


def hangs(streamed: bool, turn_reply: fx.ModelReply | None) -> st.SearchStrategy[Any]:
    """A response that stalls: after the headers, mid-body or mid-stream; streamed, with
    ``turn_reply``, also that tool turn stalling after its first chunks (then sent again whole)."""
    if not streamed:
        return st.sampled_from(
            [
                RawResponse(status=200, body=b"", stall=HANG),
                RawResponse(
                    status=200, body=b'{"id": "chatcmpl-hang", "choices": [{"index": 0, ', stall=HANG
                ),
            ]
        )
    options: list[Any] = [
        RawResponse(status=200, body=b"", content_type="text/event-stream", stall=HANG),
        Completion(reply=fx.ModelReply(message=fx.assistant("stalls mid-stream")), size=2, delay=HANG),
    ]
    if turn_reply is not None:
        options.append(Completion(reply=turn_reply, size=4, delay=HANG))
    return st.sampled_from(options)


@st.composite
def hanging_scripts(draw: st.DrawFn, streamed: bool) -> list[Any]:
    out: list[Any] = []
    for turn in range(draw(st.integers(1, 2))):
        n = draw(st.integers(1, 3))
        slow = draw(st.sets(st.integers(0, n - 1), max_size=n))
        reply = fx.ModelReply(message=tool_turn(n, slow, turn), finish_reason="tool_calls")
        out.extend(draw(st.lists(hangs(streamed, reply) | faults, max_size=2)))
        out.append(Completion(reply=reply))
    out.extend(draw(st.lists(hangs(streamed, None) | faults, max_size=1)))
    # one hang at least, two at most: each costs a whole deadline
    kept: list[Any] = []
    for response in out:
        if not _is_hang(response) or sum(map(_is_hang, kept)) < 2:
            kept.append(response)
    if not any(map(_is_hang, kept)):
        kept.insert(draw(st.integers(0, len(kept))), draw(hangs(streamed, None)))
    kept.append(Completion(reply=fx.ModelReply(message=fx.assistant("all done"))))
    return kept


def _is_hang(response: Any) -> bool:
    return getattr(response, "stall", 0) > 0 or getattr(response, "delay", 0) >= HANG


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
@pytest.mark.parametrize("streamed", [False, True], ids=["run", "stream"])
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_model_hangs_end_typed_with_every_tool_call_answered_once_and_truly(
    fake_openai_server: FakeOpenAI, backend: str, streamed: bool, data: st.DataObject
) -> None:
    script = data.draw(hanging_scripts(streamed), label="script")
    event(f"hangs: {sum(1 for r in script if _is_hang(r))}")
    run_against(fake_openai_server, script, backend=backend, streamed=streamed, model_deadline=MODEL_DEADLINE)
