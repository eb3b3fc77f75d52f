"""`openai` against faulty replies from a real server (issue 14): errors classified the same
way streamed or not, cut bodies retried like cut streams, invalid UTF-8 a typed error.

Each test here failed before the fix: the old code made an int ``code`` in a stream a
retryable ``ServerError``, a 200 error body a ``MalformedResponse``, dropped ``metadata``
and ``failed_generation``, did not retry a cut JSON body, and decoded bad bytes as U+FFFD.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import tower_llm_fx as fx
import tower_llm_fx.openai
import tower_llm_fx.resilience
from interpreters import openai
from interpreters.layers import retry
from tests.support.fake_openai import FakeOpenAI

pytestmark = pytest.mark.anyio

KEY = "sk-test-0123456789abcdef"
CALL = fx.ModelCall(model="m", messages=(fx.user("hi"),))
FAST = fx.resilience.RetryPolicy(initial_delay=0.0)
GOOD = json.dumps({"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": None}]})
OPENROUTER = {
    "code": 502,
    "message": "Provider returned error",
    "metadata": {"provider_name": "Venice", "raw": '{"error": "upstream model overloaded"}'},
}
GROQ = {
    "message": "Failed to call a function. Please adjust your prompt. See 'failed_generation' for more details.",
    "type": "invalid_request_error",
    "code": "tool_use_failed",
    "failed_generation": '<function=search>{"q": "weather"}</function>',
}


def model_for(fake: FakeOpenAI, **options: Any) -> Any:
    return openai(base_url=fake.base_url, api_key=KEY, **options)


def completion_bytes(text: str) -> bytes:
    reply = fx.ModelReply(message=fx.assistant(text), id="chatcmpl-1", model="m")
    return json.dumps(fx.openai.to_openai_response(reply, created=1), ensure_ascii=False).encode()


async def test_an_int_code_in_a_stream_is_not_a_retryable_server_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.stream_raw(
        [GOOD, json.dumps({"error": {"code": 400, "message": "bad tool schema"}})], done=False
    )
    async with model_for(fake_openai, stream=True) as model:
        with pytest.raises(fx.BadRequestError, match="bad tool schema") as info:
            await model(CALL)
    assert info.value.code == 400
    assert not info.value.retryable
    assert not fx.resilience.is_transient(info.value)


async def test_openrouter_metadata_is_kept_mid_stream(fake_openai: FakeOpenAI) -> None:
    chunk = {
        "id": "gen-1",
        "object": "chat.completion.chunk",
        "error": OPENROUTER,
        "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "error"}],
    }
    fake_openai.stream_raw([GOOD, json.dumps(chunk)], done=False)
    async with model_for(fake_openai, stream=True) as model:
        with pytest.raises(fx.ServerError) as info:
            await model(CALL)
    err = info.value
    assert err.code == 502 and err.retryable and err.status is None
    assert err.details is not None
    assert json.loads(err.details) == {"metadata": OPENROUTER["metadata"]}
    assert "upstream model overloaded" in str(err)


async def test_a_200_error_body_is_the_error_it_says_and_is_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.raw(200, json.dumps({"error": OPENROUTER}).encode())
    async with model_for(fake_openai, stream=False) as model:
        with pytest.raises(fx.ServerError, match="Provider returned error") as info:
            await model(CALL)
        assert info.value.retryable and info.value.code == 502
        assert info.value.details is not None and "Venice" in info.value.details
        fake_openai.raw(200, json.dumps({"error": OPENROUTER}).encode())
        fake_openai.reply("second time lucky")
        reply = await retry(FAST)(model)(CALL)
    assert reply.message.content == "second time lucky"
    assert len(fake_openai.requests) == 3
    fake_openai.assert_consumed()


@pytest.mark.parametrize(
    "error",
    [
        OPENROUTER,
        GROQ,
        {"code": 429, "message": "Rate limit exceeded: free-models-per-day"},
        {"code": "429", "message": "slow down"},
        {"code": 402, "message": "Insufficient credits"},
        {"message": "The server had an error", "type": "server_error", "code": None},
        {
            "message": "You exceeded your current quota",
            "type": "insufficient_quota",
            "code": "insufficient_quota",
        },
    ],
)
async def test_the_same_error_streamed_or_not_is_the_same_error(
    fake_openai: FakeOpenAI, error: dict[str, Any]
) -> None:
    fake_openai.raw(200, json.dumps({"error": error}).encode())
    fake_openai.stream_raw([json.dumps({"error": error})], done=False)
    raised: list[fx.ProviderError] = []
    for streaming in (False, True):
        async with model_for(fake_openai, stream=streaming) as model:
            with pytest.raises(fx.ProviderError) as info:
                await model(CALL)
        raised.append(info.value)
    plain, streamed = raised
    assert type(plain) is type(streamed)
    assert type(plain) not in (fx.ProviderError, fx.MalformedResponse)
    assert (plain.retryable, plain.code, plain.details, plain.provider_message) == (
        streamed.retryable,
        streamed.code,
        streamed.details,
        streamed.provider_message,
    )
    assert fx.resilience.is_transient(plain) == fx.resilience.is_transient(streamed)


async def test_groq_failed_generation_is_kept_on_an_http_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.raw(400, json.dumps({"error": GROQ}).encode())
    async with model_for(fake_openai) as model:
        with pytest.raises(fx.BadRequestError) as info:
            await model(CALL)
    assert info.value.code == "tool_use_failed"
    assert info.value.details == json.dumps(
        {"failed_generation": GROQ["failed_generation"]}, separators=(",", ":")
    )
    assert "<function=search>" in str(info.value)


async def test_a_cut_json_body_is_retried_and_the_second_attempt_succeeds(fake_openai: FakeOpenAI) -> None:
    whole = completion_bytes("the whole reply")
    fake_openai.raw(200, whole[: len(whole) // 2])  # framed correctly: the server itself sent half
    async with model_for(fake_openai, stream=False) as model:
        with pytest.raises(fx.StreamInterrupted, match=f"cut after {len(whole) // 2} bytes") as info:
            await model(CALL)
        assert info.value.retryable and fx.resilience.is_transient(info.value)
        fake_openai.raw(200, whole[: len(whole) // 2])
        fake_openai.raw(200, whole)
        reply = await retry(FAST)(model)(CALL)
    assert reply.message.content == "the whole reply"
    fake_openai.assert_consumed()


async def test_a_body_shorter_than_its_content_length_is_a_cut_reply(fake_openai: FakeOpenAI) -> None:
    whole = completion_bytes("the whole reply")
    fake_openai.raw(200, whole[:40], headers={"content-length": str(len(whole))}, cut=True)
    fake_openai.raw(200, whole)
    async with model_for(fake_openai, stream=False) as model:
        with pytest.raises(fx.StreamInterrupted, match=f"cut after 40 bytes of the {len(whole)}") as info:
            await model(CALL)
        assert info.value.retryable
        assert (await model(CALL)).message.content == "the whole reply"  # the pool recovered
    assert fake_openai.cuts == [0]


@pytest.mark.parametrize("streaming", [False, True])
async def test_an_error_status_with_a_cut_body_is_classified_by_its_status(
    fake_openai: FakeOpenAI, streaming: bool
) -> None:
    fake_openai.raw(400, b'{"error": {"message": "bad', headers={"content-length": "500"}, cut=True)
    async with model_for(fake_openai, stream=streaming) as model:
        with pytest.raises(fx.BadRequestError) as info:
            await model(CALL)
    assert info.value.status == 400 and not info.value.retryable


def _sse(*datas: bytes) -> bytes:
    return b"".join(b"data: " + d + b"\n\n" for d in datas)


async def test_invalid_utf8_mid_stream_is_a_typed_error_not_u_fffd(fake_openai: FakeOpenAI) -> None:
    call = (
        b'{"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1", "type": "function", '
        b'"function": {"name": "search", "arguments": "{\\"q\\": \\"caf\xe9\\"}"}}]}, "finish_reason": null}]}'
    )
    done = b'{"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}'
    body = _sse(GOOD.encode(), call, done, b"[DONE]")
    fake_openai.raw(200, body, content_type="text/event-stream")
    async with model_for(fake_openai, stream=True) as model:
        with pytest.raises(fx.MalformedResponse, match="chunk #2 is not valid UTF-8") as info:
            await model(CALL)
    offset = body.index(b"\xe9")
    assert f"byte 0xe9 at offset {offset} of the body" in str(info.value)
    assert not info.value.retryable


async def test_a_character_split_across_network_reads_is_fine(fake_openai: FakeOpenAI) -> None:
    reply = fx.ModelReply(message=fx.assistant("café ☕ 🎉" * 50), usage=fx.Usage(prompt_tokens=1))
    fake_openai.reply(reply, size=3)  # many small chunks: multi-byte characters straddle reads
    async with model_for(fake_openai, stream=True) as model:
        got = await model(CALL)
    assert got.message.content == reply.message.content


async def test_invalid_utf8_in_a_json_body_is_malformed(fake_openai: FakeOpenAI) -> None:
    fake_openai.raw(200, completion_bytes("caf\u00e9").replace("é".encode(), b"\xe9"))
    async with model_for(fake_openai, stream=False) as model:
        with pytest.raises(fx.MalformedResponse, match="not UTF-8"):
            await model(CALL)


async def test_a_json_error_body_instead_of_a_stream_is_the_same_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.raw(200, json.dumps({"error": {"code": 429, "message": "slow down"}}).encode())
    fake_openai.raw(200, completion_bytes("not streamed"))
    async with model_for(fake_openai, stream=True) as model:
        with pytest.raises(fx.RateLimitError, match="slow down") as info:
            await model(CALL)
        assert info.value.retryable and info.value.code == 429
        with pytest.raises(fx.MalformedResponse, match="did not send one"):
            await model(CALL)
