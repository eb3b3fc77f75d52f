"""Typed runs (``Agent(output=T)``) through the shell: scripted models, ``openai`` against the fake
server (both modes), the bounded retry, record → replay and streaming, on trio and asyncio."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest

import tower_llm_fx as fx
import tower_llm_fx.openai
from interpreters import agent_interpreter, openai, replay_run, run, run_session, sequence, stream
from interpreters.layers import record
from interpreters.stores import MemoryTraceStore, memory_store
from tests.support.fake_openai import FakeOpenAI
from tests.support.openai_reference import check_request_body
from tower_llm_fx.output import FINAL_ANSWER, OutputReady

pytestmark = pytest.mark.anyio

KEY = "sk-test-0123456789abcdef"


@attrs.frozen
class Weather:
    """The weather in a city."""

    city: str
    celsius: float
    sky: str


GOOD = '{"city": "Oslo", "celsius": 4.5, "sky": "grey"}'
BAD = '{"city": "Oslo", "celsius": "cold"}'
VALUE = Weather(city="Oslo", celsius=4.5, sky="grey")


@fx.tool
def forecast(city: str) -> str:
    """Get the forecast for a city."""
    return f"{city}: 4.5 C, grey"


def final_answer(arguments: str, id: str = "fa1") -> fx.AssistantMessage:
    return fx.assistant(None, fx.ToolCallRequest(id=id, name=FINAL_ANSWER, arguments=arguments))


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- scripted


async def test_a_typed_run_on_a_scripted_model_returns_the_validated_value() -> None:
    agent = fx.Agent(model="m", instructions="Report the weather.", output=Weather)
    final = await run(agent, agent_interpreter(agent, model=sequence([GOOD])), "Weather in Oslo?")
    assert agent.value(final) == VALUE
    assert final.stop == fx.StopReason(kind="output", detail="the model gave a valid structured output")


async def test_a_scripted_tool_mode_run_uses_tools_then_answers() -> None:
    agent = fx.Agent(model="m", tools=(forecast,), output=Weather, output_mode="tool")
    script = [
        fx.assistant(None, fx.ToolCallRequest(id="c1", name="forecast", arguments='{"city": "Oslo"}')),
        final_answer(GOOD),
    ]
    final = await run(agent, agent_interpreter(agent, model=sequence(script)), "Weather in Oslo?")
    assert agent.value(final) == VALUE
    assert (final.model_calls, final.tool_invocations, final.steps) == (2, 1, 2)


async def test_a_bad_scripted_output_is_retried_then_fails_typed() -> None:
    agent = fx.Agent(model="m", output=Weather, max_output_retries=1)
    with pytest.raises(fx.OutputValidationError) as info:
        await run(agent, agent_interpreter(agent, model=sequence([BAD, "It is cold."])), "Oslo?")
    assert info.value.raw == "It is cold." and info.value.attempts == 2


# --------------------------------------------------------------------------- openai (fake server)


async def test_openai_json_schema_run_sends_a_strict_response_format(fake_openai: FakeOpenAI) -> None:
    agent = fx.Agent(model="gpt-test", output=Weather)
    fake_openai.reply(GOOD)
    async with openai(base_url=fake_openai.base_url, api_key=KEY) as model:
        final = await run(agent, agent_interpreter(agent, model=model), "Weather in Oslo?")
    assert agent.value(final) == VALUE
    (request,) = fake_openai.requests
    check_request_body(request.body)
    fmt = request.body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["strict"] is True and fmt["json_schema"]["name"] == "Weather"
    assert fmt["json_schema"]["schema"]["required"] == ["city", "celsius", "sky"]
    assert "tools" not in request.body


async def test_openai_tool_mode_run_offers_and_forces_the_final_answer_tool(fake_openai: FakeOpenAI) -> None:
    agent = fx.Agent(model="deepseek-chat", output=Weather, dialect=fx.openai.dialect("deepseek"))
    fake_openai.reply(final_answer(GOOD))
    async with openai(base_url=fake_openai.base_url, api_key=KEY) as model:
        final = await run(agent, agent_interpreter(agent, model=model), "Weather in Oslo?")
    assert agent.value(final) == VALUE
    (request,) = fake_openai.requests
    check_request_body(request.body)
    assert "response_format" not in request.body
    (tool,) = request.body["tools"]
    assert tool["function"]["name"] == FINAL_ANSWER and tool["function"]["strict"] is True
    assert request.body["tool_choice"] == {"type": "function", "function": {"name": FINAL_ANSWER}}


async def test_openai_bad_output_is_fed_back_then_fails_typed(fake_openai: FakeOpenAI) -> None:
    agent = fx.Agent(model="gpt-test", output=Weather, max_output_retries=2)
    fake_openai.reply(BAD).reply("not json").reply(BAD)
    async with openai(base_url=fake_openai.base_url, api_key=KEY) as model:
        with pytest.raises(fx.OutputValidationError) as info:
            await run(agent, agent_interpreter(agent, model=model), "Weather in Oslo?")
    assert (info.value.raw, info.value.attempts) == (BAD, 3)
    assert set(info.value.problems) == {'$: missing key "sky"', "$.celsius: expected a number, got a string"}
    assert len(fake_openai.requests) == 3
    second = fake_openai.requests[1].body["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    assert second[2]["content"].startswith("Your output is not valid:\n- ")
    fake_openai.assert_consumed()


async def test_openai_bad_output_then_a_good_one_succeeds(fake_openai: FakeOpenAI) -> None:
    agent = fx.Agent(model="gpt-test", output=Weather, output_mode="tool")
    fake_openai.reply(final_answer(BAD)).reply(final_answer(GOOD, id="fa2"))
    async with openai(base_url=fake_openai.base_url, api_key=KEY) as model:
        final = await run(agent, agent_interpreter(agent, model=model), "Weather in Oslo?")
    assert agent.value(final) == VALUE
    second = fake_openai.requests[1].body["messages"]
    assert second[2]["role"] == "tool" and second[2]["content"].startswith(
        "error: the final answer is not valid"
    )
    for request in fake_openai.requests:
        check_request_body(request.body)


# --------------------------------------------------------------------------- record / replay, streaming


async def test_a_typed_run_records_and_replays_exactly(fake_openai: FakeOpenAI) -> None:
    agent = fx.Agent(model="gpt-test", tools=(forecast,), output=Weather)
    fake_openai.reply(
        fx.assistant(None, fx.ToolCallRequest(id="c1", name="forecast", arguments='{"city": "Oslo"}'))
    )
    fake_openai.reply(BAD).reply(GOOD)
    store = MemoryTraceStore()
    async with openai(base_url=fake_openai.base_url, api_key=KEY) as model:
        interp = record(into=store, trace_id="typed", agent=agent)(agent_interpreter(agent, model=model))
        original = await run(agent, interp, "Weather in Oslo?")
    trace = await store.load("typed")
    decoded = fx.trace.decode_trace(fx.trace.encode_trace(trace))
    replayed = await replay_run(agent, decoded, input="Weather in Oslo?")
    assert replayed == original
    assert agent.value(replayed) == VALUE and replayed.output_retries == 0
    assert fx.from_json(fx.to_json(replayed)) == replayed


async def streamed(agent: fx.Agent, model: Any) -> tuple[fx.RunState, list[fx.RunEvent]]:
    async with stream(agent, agent_interpreter(agent, model=model), "Weather in Oslo?") as events:
        seen = [e async for e in events]
        final = events.final
    assert final is not None
    return final, seen


async def test_streaming_a_typed_run_shows_partial_json_and_the_value_once(fake_openai: FakeOpenAI) -> None:
    agent = fx.Agent(model="gpt-test", output=Weather)
    fake_openai.reply(BAD).reply(GOOD)
    async with openai(base_url=fake_openai.base_url, api_key=KEY, stream=True) as model:
        final, seen = await streamed(agent, model)
    assert all(r.streaming for r in fake_openai.requests)
    text = "".join(e.text for e in seen if isinstance(e, fx.TokenDelta))
    assert text == BAD + GOOD  # the partial JSON of both attempts, as it arrived
    ready = [e for e in seen if isinstance(e, OutputReady)]
    assert ready == [OutputReady(step=2, value_json=final.value_json or "")]
    names = [type(e).__name__ for e in seen]
    assert names[-3:] == ["StepFinished", "OutputReady", "RunFinished"]
    assert agent.value(final) == VALUE


async def test_streaming_and_running_a_scripted_typed_run_agree() -> None:
    agent = fx.Agent(model="m", output=Weather, output_mode="tool")
    script = [final_answer(BAD), final_answer(GOOD, id="fa2")]
    final, seen = await streamed(agent, sequence(script))
    plain = await run(agent, agent_interpreter(agent, model=sequence(script)), "Weather in Oslo?")
    assert final == plain
    args = "".join(e.text for e in seen if isinstance(e, fx.ToolCallArgumentsDelta))
    assert json.loads(args[: len(BAD)]) == json.loads(BAD)
    assert sum(isinstance(e, OutputReady) for e in seen) == 1


async def test_a_typed_run_on_a_session_validates_and_saves_the_corrected_answer() -> None:
    agent = fx.Agent(model="m", output=Weather)
    store = memory_store()
    interp = agent_interpreter(agent, model=sequence([BAD, GOOD]))
    final = await run_session(agent, interp, "Weather in Oslo?", session_id="s1", store=store)
    assert agent.value(final) == VALUE
    log = await store.load("s1")
    assert [m.role for m in log.view()] == ["user", "assistant", "user", "assistant"]


async def test_a_typed_member_of_a_group_validates_its_output() -> None:
    from interpreters import group_interpreter
    from tower_llm_fx.group import Group

    triage = fx.Agent(name="triage", model="m-triage")
    reporter = fx.Agent(name="reporter", model="m-reporter", output=Weather, max_output_retries=1)
    group = Group.builder().agent(triage).agent(reporter).handoff("triage", "reporter").build()
    to_reporter = fx.assistant(None, fx.ToolCallRequest(id="h1", name="handoff_to_reporter", arguments="{}"))
    model = sequence([to_reporter, BAD, GOOD])
    final = await run(group, group_interpreter(group, model=model), "Weather in Oslo?")
    model.assert_consumed()
    assert final.run.value_json is not None and reporter.value(final.run) == VALUE
    # the bad answer was fed back to the reporter once, naming the field, before the good one
    assert final.run.model_calls == 3
    feedback = [
        m for m in final.run.messages if isinstance(m, fx.UserMessage) and "celsius" in fx.text_of(m.content)
    ]
    assert len(feedback) == 1
