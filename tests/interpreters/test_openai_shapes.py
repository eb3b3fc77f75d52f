"""`openai` with each provider's real wire shapes (issue 14), through a real HTTP server on 127.0.0.1.

The fixtures are the documented provider shapes of
``tests/tower_llm_fx/openai/test_provider_shapes.py``: the fake server sends
those exact bytes (``stream_raw`` for SSE, ``raw`` for JSON), and the reply the
interpreter returns must equal what the pure codec folds or decodes from the
same bytes, with every extra still there. Requests go the other way: a call
decoded from a provider's request fixture must reach the server as that body.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

import tower_llm_fx as fx
from interpreters import agent_interpreter, observe_deltas, openai, stream
from tests.support.fake_openai import FakeOpenAI
from tests.tower_llm_fx.openai.test_provider_shapes import (
    GEMINI_STREAM,
    REPLIES,
    REQUESTS,
    STREAMS,
    extra_of,
    fold,
)
from tower_llm_fx.openai import from_openai_request, from_openai_response

pytestmark = pytest.mark.anyio

KEY = "sk-test-shapes-0123456789"
CALL = fx.ModelCall(model="shape-test", messages=(fx.user("go"),))


def model_for(fake: FakeOpenAI, **options: Any) -> Any:
    return openai(base_url=fake.base_url, api_key=KEY, **options)


def _raw(reply: fx.ModelReply | fx.AssistantMessage) -> dict[str, Any]:
    reasoning = reply.reasoning if isinstance(reply, fx.AssistantMessage) else reply.message.reasoning
    return {} if reasoning is None else json.loads(reasoning.raw or "{}")


# What must survive the trip for each stream shape (beyond the equality with the pure fold).
def assert_nothing_lost(name: str, r: fx.ModelReply) -> None:
    """What must survive the trip for each stream shape (beyond the equality with the pure fold)."""
    extra, usage_extra = extra_of(r.extra), extra_of(r.usage.extra)
    if name == "openai":
        assert extra["system_fingerprint"] == "fp_1" and extra["service_tier"] == "default"
        assert r.usage.cached_tokens == 0 and r.usage.total_tokens == 12
        assert usage_extra["completion_tokens_details"]["accepted_prediction_tokens"] == 0
    elif name == "groq":
        assert r.usage.total_tokens == 30 and usage_extra["queue_time"] == 0.03
        assert extra["x_groq"] == {"id": "req_01jbd6g2"}
        assert r.message.reasoning is not None and r.message.reasoning.text == "The capital is Paris."
    elif name == "mistral":
        content = r.message.content
        assert isinstance(content, tuple) and isinstance(content[0], fx.OtherPart)
        assert content[0].kind == "thinking"
        assert r.message.text == "John has 3 siblings." and r.usage.total_tokens == 50
    elif name == "deepseek":
        assert _raw(r) == {"reasoning_content": "Compare the tenths: 1 < 8."}
        assert usage_extra == {"prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 16}
        assert r.usage.reasoning_tokens == 6
    elif name == "openrouter":
        assert "reasoning_details" in _raw(r) and r.message.tool_calls[0].name == "get_weather"
        assert extra["provider"] == "Anthropic" and usage_extra["cost"] == 0.00136
        assert extra_of(r.choice_extra) == {"native_finish_reason": "tool_use"}
    elif name == "gemini":
        signature = {"extra_content": {"google": {"thought_signature": "<Signature A>"}}}
        assert extra_of(r.message.tool_calls[0].extra) == signature
        assert r.usage.reported_total_tokens == 190
    elif name == "azure":
        assert extra["prompt_filter_results"][0]["prompt_index"] == 0
        assert "content_filter_results" in extra_of(r.choice_extra)
        assert r.message.content == "Hello! How can I help?"
    else:
        assert name == "string_index"
        assert r.message.content == "ok" and r.finish_reason == "stop"


@pytest.mark.parametrize("name", sorted(STREAMS))
async def test_a_streamed_call_returns_the_pure_fold_of_the_same_chunks(
    fake_openai: FakeOpenAI, name: str
) -> None:
    chunks = STREAMS[name]
    fake_openai.stream_raw([json.dumps(c) for c in chunks])
    seen: list[fx.RunEvent] = []
    async with model_for(fake_openai) as model:
        with observe_deltas(seen.append, step=3):
            reply = await model(CALL)
    events, expected = fold(chunks, step=3)
    assert reply == expected
    assert seen == events
    assert_nothing_lost(name, reply)
    fake_openai.assert_consumed()
    (request,) = fake_openai.requests
    assert request.body == {
        "model": "shape-test",
        "messages": [{"role": "user", "content": "go"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


@pytest.mark.parametrize("name", sorted(STREAMS))
async def test_a_streamed_call_equals_the_unstreamed_reply_of_the_same_completion(
    fake_openai: FakeOpenAI, name: str
) -> None:
    from tests.tower_llm_fx.openai.test_provider_shapes import STREAM_REPLIES

    fake_openai.stream_raw([json.dumps(c) for c in STREAMS[name]])
    fake_openai.raw(200, json.dumps(STREAM_REPLIES[name]).encode())
    async with model_for(fake_openai, stream=True) as streamed, model_for(fake_openai, stream=False) as plain:
        one = await streamed(CALL)
        two = await plain(CALL)
    assert one == two
    assert [r.streaming for r in fake_openai.requests] == [True, False]


@pytest.mark.parametrize("name", sorted(REPLIES))
async def test_an_unstreamed_provider_reply_arrives_whole(fake_openai: FakeOpenAI, name: str) -> None:
    body = REPLIES[name]
    fake_openai.raw(200, json.dumps(body).encode())
    async with model_for(fake_openai, stream=False) as model:
        reply = await model(CALL)
    assert reply == from_openai_response(copy.deepcopy(body))
    assert not fake_openai.requests[0].streaming
    # nothing the server sent is lost: every extra the codec keeps is there
    assert reply.extra is not None or name in ("gemini", "mistral_thinking")
    fake_openai.assert_consumed()


@pytest.mark.parametrize("name", sorted(REQUESTS))
async def test_a_provider_request_reaches_the_server_as_written(fake_openai: FakeOpenAI, name: str) -> None:
    body = REQUESTS[name]
    streaming = bool(body.get("stream"))
    fake_openai.reply("ok")
    async with model_for(fake_openai, stream=streaming) as model:
        reply = await model(from_openai_request(copy.deepcopy(body)))
    assert reply.message.content == "ok"
    # a stream_options the user set is what is sent, never replaced by the default
    assert fake_openai.requests[0].body == body


@fx.tool
def check_flight(flight: str) -> str:
    """Check a flight's status."""
    return json.dumps({"flight": flight, "status": "delayed"})


async def test_an_agent_run_sends_the_gemini_thought_signature_back(fake_openai: FakeOpenAI) -> None:
    # https://ai.google.dev/gemini-api/docs/thought-signatures: the signature on the call must come back
    answer: list[dict[str, Any]] = [
        {
            "id": "g2",
            "object": "chat.completion.chunk",
            "model": "gemini-3-pro-preview",
            "choices": [
                {
                    "index": 0,
                    "delta": {"role": "assistant", "content": "AA100 is delayed."},
                    "finish_reason": None,
                }
            ],
        },
        {
            "id": "g2",
            "object": "chat.completion.chunk",
            "model": "gemini-3-pro-preview",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 90, "completion_tokens": 5, "total_tokens": 95},
        },
    ]
    fake_openai.stream_raw([json.dumps(c) for c in GEMINI_STREAM]).stream_raw([json.dumps(c) for c in answer])
    agent = fx.Agent(model="gemini-3-pro-preview", tools=(check_flight,))
    async with (
        model_for(fake_openai) as model,
        stream(agent, agent_interpreter(agent, model=model), "Check AA100") as events,
    ):
        seen = [e async for e in events]
    replied = [e.reply for e in seen if isinstance(e, fx.ModelReplied)]
    assert replied == [fold(GEMINI_STREAM, step=1)[1], fold(answer, step=2)[1]]
    final = seen[-1]
    assert isinstance(final, fx.RunFinished) and final.state.output == "AA100 is delayed."
    second = fake_openai.requests[1].body
    said = second["messages"][-2]
    assert said["tool_calls"][0]["extra_content"] == {"google": {"thought_signature": "<Signature A>"}}
    assert second["messages"][-1]["role"] == "tool" and "delayed" in second["messages"][-1]["content"]
    assert fx.ToolCallStarted(step=1, index=0, id="function-call-1", name="check_flight") in seen


@pytest.mark.parametrize("name", ["deepseek", "groq", "mistral", "openrouter"])
async def test_an_agent_run_streams_the_reasoning_as_it_arrives(fake_openai: FakeOpenAI, name: str) -> None:
    chunks = STREAMS[name]
    if name == "openrouter":  # it asks for a tool; answer it so the run ends
        fake_openai.stream_raw([json.dumps(c) for c in chunks]).reply("72F")
    else:
        fake_openai.stream_raw([json.dumps(c) for c in chunks])

    @fx.tool
    def get_weather(location: str) -> str:
        """The weather."""
        return "72F, sunny"

    agent = fx.Agent(model="reasoner", tools=(get_weather,))
    async with (
        model_for(fake_openai) as model,
        stream(agent, agent_interpreter(agent, model=model), "go") as events,
    ):
        seen = [e async for e in events]
    folded, expected = fold(chunks, step=1)
    first = next(e for e in seen if isinstance(e, fx.ModelReplied))
    assert first.reply == expected
    thought = "".join(e.text for e in seen if isinstance(e, fx.ReasoningDelta) and e.step == 1)
    m = expected.message
    if m.reasoning is not None:
        assert thought == m.reasoning.text
    else:
        assert thought == "4 children, so 3 siblings."  # Mistral's thinking parts
    assert [
        e for e in seen if getattr(e, "step", None) == 1 and isinstance(e, fx.TokenDelta | fx.ReasoningDelta)
    ] == [e for e in folded if isinstance(e, fx.TokenDelta | fx.ReasoningDelta)]


@pytest.mark.parametrize("streaming", [True, False])
@pytest.mark.parametrize("name", sorted(REPLIES))
async def test_every_reply_shape_survives_the_http_path_both_ways(
    fake_openai: FakeOpenAI, name: str, streaming: bool
) -> None:
    decoded = from_openai_response(copy.deepcopy(REPLIES[name]))
    fake_openai.reply(decoded, size=3)  # the fake encodes it with to_openai_chunks / to_openai_response
    seen: list[fx.RunEvent] = []
    async with model_for(fake_openai, stream=streaming) as model:
        with observe_deltas(seen.append):
            reply = await model(CALL)
    assert reply == decoded
    assert fake_openai.requests[0].streaming is streaming
    if streaming:
        assert "".join(e.text for e in seen if isinstance(e, fx.TokenDelta)) == (decoded.message.text or "")


async def test_a_dialect_prepares_each_request_for_its_provider(fake_openai: FakeOpenAI) -> None:
    said = fx.AssistantMessage(
        content="4", reasoning=fx.Reasoning(text="2+2", raw={"reasoning_content": "2+2"})
    )
    history = fx.ModelCall(model="deepseek-reasoner", messages=(fx.user("2+2?"), said, fx.user("and 3+3?")))
    for name, kept in (("deepseek", False), ("zai", True)):
        fake_openai.reply("ok")
        async with model_for(fake_openai, dialect=name) as model:
            await model(history)
        sent = fake_openai.requests[-1].body["messages"][1]
        assert ("reasoning_content" in sent) is kept, name
    # a provider that reports stream usage unasked is not asked (Groq: x_groq.usage)
    fake_openai.stream_raw(
        [json.dumps(c) for c in fx.openai.to_openai_chunks(fx.ModelReply(message=fx.assistant("hi")))]
    )
    async with model_for(fake_openai, dialect="groq", stream=True) as model:
        await model(fx.ModelCall(model="m", messages=(fx.user("hi"),)))
    assert "stream_options" not in fake_openai.requests[-1].body
    with pytest.raises(fx.ConfigurationError, match="unknown dialect 'nope'"):
        model_for(fake_openai, dialect="nope")
    with pytest.raises(fx.ConfigurationError, match="dialect must be"):
        model_for(fake_openai, dialect=3)
