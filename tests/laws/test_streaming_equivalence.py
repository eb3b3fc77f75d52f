"""Law: a streamed run and a plain run of the same program and script end in the same state.

Checked for an agent with the scripted interpreters and with ``openai`` against
the fake server (one run over JSON, the other over server-sent events chunked
at a random size), for scripts that mix text, parallel tool calls with chunked
arguments, refusals, failing tool calls and usage; and with the scripted
interpreters for a group (with handoffs) and for a ``with_session`` program on
a memory store: ``events.result`` is what ``run`` returns.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.group
import tower_llm_fx.openai
import tower_llm_fx.sessions
from interpreters import Interpreter, agent_interpreter, group_interpreter, openai, run, sequence, stream
from interpreters.layers import with_store
from interpreters.stores import memory_store
from tests.support.fake_openai import FakeOpenAI
from tower_llm_fx.sessions import with_session


@fx.tool
def echo(text: str) -> str:
    """Say it back."""
    return text


text = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30)


@st.composite
def scripts(draw: st.DrawFn) -> list[fx.ModelReply]:
    """Model replies: some tool-call turns, then a final answer."""
    out = []
    counter = 0
    for _ in range(draw(st.integers(0, 3))):
        calls = []
        for _ in range(draw(st.integers(1, 3))):
            counter += 1
            # valid arguments, malformed JSON, or an unknown tool: failures are data too
            arguments = draw(
                st.sampled_from(["{}", "not json"]) | text.map(lambda t: json.dumps({"text": t}))
            )
            name = draw(st.sampled_from(["echo", "nope"]))
            calls.append(fx.ToolCallRequest(id=f"call_{counter}", name=name, arguments=arguments))
        out.append(
            fx.ModelReply(
                message=fx.AssistantMessage(content=draw(st.none() | text), tool_calls=tuple(calls)),
                finish_reason="tool_calls",
                usage=fx.Usage(
                    prompt_tokens=draw(st.integers(0, 500)), completion_tokens=draw(st.integers(0, 50))
                ),
            )
        )
    final = fx.AssistantMessage(content=draw(st.none() | text), refusal=draw(st.none() | text))
    out.append(
        fx.ModelReply(
            message=final,
            finish_reason=draw(st.sampled_from(["stop", "length", "content_filter"])),
            usage=fx.Usage(
                prompt_tokens=draw(st.integers(0, 500)), completion_tokens=draw(st.integers(0, 50))
            ),
        )
    )
    return out


agents = st.builds(
    fx.Agent,
    model=st.just("gpt-test"),
    instructions=st.none() | st.just("Echo things."),
    tools=st.just((echo,)),
    parallel_tools=st.booleans(),
)


async def streamed(agent: Any, interpreter: Any, input: str) -> tuple[fx.RunState, list[fx.RunEvent]]:
    async with stream(agent, interpreter, input) as events:
        seen = [e async for e in events]
    assert events.final is not None
    assert events.final == agent.conversation(events.result)
    return events.final, seen


async def streamed_result(program: Any, interpreter: Any, input: str) -> tuple[Any, list[fx.RunEvent]]:
    """What a streamed run of ``program`` returns (``events.result``), and its events."""
    async with stream(program, interpreter, input) as events:
        seen = [e async for e in events]
    assert events.final is not None
    assert events.final == program.conversation(events.result)
    return events.result, seen


def check_events(seen: list[fx.RunEvent], final: fx.RunState, history: int = 0) -> None:
    """The events of a run ending in ``final``, whose first ``history`` messages were loaded, not run."""
    assert isinstance(seen[0], fx.RunStarted)
    assert seen[-1] == fx.RunFinished(state=final)

    # ModelReplied carries each reply as the model sent it (advance may repair ids or empty content)
    def gist(m: fx.AssistantMessage) -> Any:
        return m.content or "", m.refusal, [(c.name, c.arguments) for c in m.tool_calls]

    replied = [gist(e.reply.message) for e in seen if isinstance(e, fx.ModelReplied)]
    assert replied == [gist(m) for m in final.messages[history:] if isinstance(m, fx.AssistantMessage)]
    finished = [e for e in seen if isinstance(e, fx.StepFinished)]
    assert [e.step for e in finished] == list(range(1, final.steps + 1))
    total = fx.Usage()
    for e in finished:
        total = total + e.usage
    assert total == final.usage


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
@given(agent=agents, script=scripts(), question=text)
def test_scripted_runs_stream_to_the_same_state(
    backend: str, agent: fx.Agent, script: list[fx.ModelReply], question: str
) -> None:
    async def main() -> None:
        plain = await run(agent, agent_interpreter(agent, model=sequence(script)), question)
        final, seen = await streamed(agent, agent_interpreter(agent, model=sequence(script)), question)
        assert final == plain
        check_events(seen, final)

    anyio.run(main, backend=backend)


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
@settings(max_examples=max(5, settings().max_examples // 4), suppress_health_check=[HealthCheck.too_slow])
@given(agent=agents, script=scripts(), question=text, size=st.integers(1, 16), interleave=st.booleans())
def test_openai_runs_stream_to_the_same_state(
    fake_openai_server: FakeOpenAI,
    backend: str,
    agent: fx.Agent,
    script: list[fx.ModelReply],
    question: str,
    size: int,
    interleave: bool,
) -> None:
    fake = fake_openai_server
    fake.reset()

    async def main() -> None:
        async with openai(base_url=fake.base_url, api_key="sk-test") as model:
            interpreter = agent_interpreter(agent, model=model)
            for reply in script:
                fake.reply(reply)
            plain = await run(agent, interpreter, question)
            for reply in script:
                fake.reply(reply, size=size, interleave=interleave)
            final, seen = await streamed(agent, interpreter, question)
        assert final == plain
        check_events(seen, final)
        fake.assert_consumed()
        half = len(fake.requests) // 2
        assert [r.streaming for r in fake.requests] == [False] * half + [True] * half
        # the same requests, apart from how to deliver the reply
        for a, b in zip(fake.requests[:half], fake.requests[half:], strict=True):
            assert fx.openai.from_openai_request(a.body) == fx.openai.from_openai_request(b.body)

    anyio.run(main, backend=backend)


def make_group(parallel: bool) -> fx.group.Group:
    """Two agents that can hand off to each other; only ``a`` has the tool."""
    a = fx.Agent(model="m-a", name="a", tools=(echo,), parallel_tools=parallel)
    b = fx.Agent(model="m-b", name="b", parallel_tools=parallel)
    return fx.group.Group.builder().agent(a).agent(b).handoff("a", "b").handoff("b", "a").build()


@st.composite
def group_scripts(draw: st.DrawFn) -> list[fx.ModelReply]:
    """A script whose tool-call turns may also ask for a handoff (offered or not)."""
    script = draw(scripts())
    out = []
    for i, reply in enumerate(script):
        calls = reply.message.tool_calls
        ask = draw(st.booleans())
        if calls and ask:
            target = draw(st.sampled_from(["handoff_to_a", "handoff_to_b"]))
            calls = (*calls, fx.ToolCallRequest(id=f"h{i}", name=target, arguments="{}"))
            reply = fx.ModelReply(
                message=fx.AssistantMessage(content=reply.message.content, tool_calls=calls),
                finish_reason=reply.finish_reason,
                usage=reply.usage,
            )
        out.append(reply)
    return out


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
@given(parallel=st.booleans(), script=group_scripts(), question=text)
def test_scripted_group_runs_stream_to_the_same_state(
    backend: str, parallel: bool, script: list[fx.ModelReply], question: str
) -> None:
    group = make_group(parallel)

    async def main() -> None:
        plain = await run(group, group_interpreter(group, model=sequence(script)), question)
        result, seen = await streamed_result(
            group, group_interpreter(group, model=sequence(script)), question
        )
        assert result == plain
        check_events(seen, plain.run)
        handed = [e.handoff for e in seen if isinstance(e, fx.group.HandedOff)]
        assert handed == list(plain.handoffs)

    anyio.run(main, backend=backend)


@pytest.mark.parametrize("backend", ["trio", "asyncio"])
@given(agent=agents, history=scripts(), script=scripts(), question=text)
def test_scripted_session_runs_stream_to_the_same_state(
    backend: str, agent: fx.Agent, history: list[fx.ModelReply], script: list[fx.ModelReply], question: str
) -> None:
    """From the same stored history, a plain and a streamed session run end alike, and store alike."""

    async def main() -> None:
        program = with_session(agent, "s")
        finals: list[fx.sessions.SessionState] = []
        logs: list[fx.sessions.SessionLog] = []
        for streaming in (False, True):
            store = memory_store()
            earlier: Interpreter = with_store(store)(agent_interpreter(agent, model=sequence(history)))
            before = await run(program, earlier, "earlier")
            interp: Interpreter = with_store(store)(agent_interpreter(agent, model=sequence(script)))
            if streaming:
                final, seen = await streamed_result(program, interp, question)
                check_events(seen, final.run, history=len(before.messages))
            else:
                final = await run(program, interp, question)
            finals.append(final)
            logs.append(await store(fx.sessions.LoadSession(session_id="s")))
        assert finals[0] == finals[1]
        assert logs[0] == logs[1]
        assert finals[0].unsaved == ()
        assert logs[0].view() == finals[0].messages

    anyio.run(main, backend=backend)
