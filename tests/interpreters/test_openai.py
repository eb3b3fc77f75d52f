"""`openai` against a real HTTP server on 127.0.0.1 (``tests/support/fake_openai.py``).

Every request body the interpreter sends is checked against the official
``openai`` package's request types.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any, TypeVar, cast

import anyio
import httpx
import pytest

import tower_llm_fx as fx
import tower_llm_fx.openai
from interpreters import agent_interpreter, observe_deltas, openai, run, stream
from tests.support.fake_openai import Completion, FakeOpenAI
from tests.support.openai_reference import check_request_body

pytestmark = pytest.mark.anyio

R = TypeVar("R")
KEY = "sk-test-0123456789abcdef"


@fx.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


AGENT = fx.Agent(
    model="gpt-test",
    instructions="You add numbers.",
    tools=(add,),
    params=fx.ModelParams(temperature=0.2, max_completion_tokens=64, seed=1),
)
TOOL_TURN = fx.ModelReply(
    message=fx.assistant(
        "Let me add.",
        fx.ToolCallRequest(id="call_a", name="add", arguments='{"a": 2, "b": 3}'),
        fx.ToolCallRequest(id="call_b", name="add", arguments='{"a": 10, "b": 20}'),
    ),
    finish_reason="tool_calls",
    usage=fx.Usage(prompt_tokens=50, completion_tokens=20),
)
ANSWER = fx.ModelReply(
    message=fx.assistant("2 + 3 = 5 and 10 + 20 = 30."),
    usage=fx.Usage(prompt_tokens=80, completion_tokens=12),
)


def model_for(fake: FakeOpenAI, **options: Any) -> Any:
    options.setdefault("api_key", KEY)
    return openai(base_url=fake.base_url, **options)


def check_bodies(fake: FakeOpenAI) -> None:
    for request in fake.requests:
        check_request_body(request.body)


@pytest.fixture(autouse=True)
def _no_openai_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_ORG_ID", "OPENAI_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- plain calls


async def test_a_run_with_tools(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply(TOOL_TURN).reply(ANSWER)
    async with model_for(fake_openai) as model:
        final = await run(AGENT, agent_interpreter(AGENT, model=model), "What are 2+3 and 10+20?")
    assert final.output == "2 + 3 = 5 and 10 + 20 = 30."
    assert final.usage == fx.Usage(prompt_tokens=130, completion_tokens=32)
    assert final.stop == fx.StopReason(kind="no_tool_calls", detail="the model replied without tool calls")
    fake_openai.assert_consumed()
    check_bodies(fake_openai)
    first, second = (r.body for r in fake_openai.requests)
    assert first["model"] == "gpt-test"
    assert first["temperature"] == 0.2 and first["max_completion_tokens"] == 64 and first["seed"] == 1
    assert first["tools"][0]["function"]["name"] == "add"
    assert "stream" not in first
    # the second request carries the tool calls and their results, in order
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "tool", "tool"]
    assert second["messages"][3] == {"role": "tool", "tool_call_id": "call_a", "content": "5"}
    assert second["messages"][4] == {"role": "tool", "tool_call_id": "call_b", "content": "30"}
    assert fx.openai.from_openai_request(second) == AGENT.model_call(final.messages[:-1])


async def test_headers_query_and_path(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply("hi")
    options = {
        "organization": "org-1",
        "project": "proj-1",
        "headers": {"X-Extra": "yes"},
        "query": {"api-version": "2024-10-21"},
    }
    async with model_for(fake_openai, **options) as model:
        reply = await model(fx.ModelCall(model="m", messages=[fx.user("hello")]))
    assert reply.message.content == "hi"
    assert reply.id == "chatcmpl-fake0"
    request = fake_openai.requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.query == "api-version=2024-10-21"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["openai-organization"] == "org-1"
    assert request.headers["openai-project"] == "proj-1"
    assert request.headers["x-extra"] == "yes"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"].startswith("tower-llm-fx/")


async def test_key_and_settings_from_the_environment(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_ORG_ID", "org-env")
    fake_openai.reply("hi")
    async with openai() as model:
        await model(fx.ModelCall(model="m", messages=[fx.user("hello")]))
    assert fake_openai.requests[0].headers["authorization"] == "Bearer sk-from-env"
    assert fake_openai.requests[0].headers["openai-organization"] == "org-env"


async def test_local_servers_need_no_key(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply("hi")
    async with openai(base_url=fake_openai.base_url) as model:
        await model(fx.ModelCall(model="m", messages=[fx.user("hello")]))
    assert "authorization" not in fake_openai.requests[0].headers


async def test_connections_are_reused(fake_openai: FakeOpenAI) -> None:
    assert fake_openai.wait_connections(0) == 0
    call = fx.ModelCall(model="m", messages=[fx.user("hello")])
    async with model_for(fake_openai) as model:
        for i in range(5):
            fake_openai.reply(f"reply {i}")
            assert (await model(call)).message.content == f"reply {i}"
            assert fake_openai.open_connections == 1
        fake_openai.reply("streamed", size=2)
        async with stream(
            fx.Agent(model="m"), agent_interpreter(fx.Agent(model="m"), model=model), "x"
        ) as ev:
            await ev.collect_final()
        fake_openai.reply("again")
        await model(call)
        assert fake_openai.open_connections == 1
    assert fake_openai.wait_connections(0) == 0


async def test_your_own_http_client(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply("one").reply("two", size=1)
    async with httpx.AsyncClient() as client:
        async with model_for(fake_openai, http_client=client, query={"v": "1"}) as model:
            call = fx.ModelCall(model="m", messages=[fx.user("hello")])
            assert (await model(call)).message.content == "one"
        async with model_for(fake_openai, http_client=client, stream=True) as model:
            assert (await model(call)).message.content == "two"
        assert not client.is_closed  # not ours to close
    assert fake_openai.requests[0].headers["authorization"] == f"Bearer {KEY}"
    assert fake_openai.requests[0].query == "v=1"
    assert fake_openai.requests[1].headers["accept"] == "text/event-stream"


async def test_lifecycle_errors(fake_openai: FakeOpenAI) -> None:
    model = model_for(fake_openai)
    call = fx.ModelCall(model="m", messages=[fx.user("hello")])
    with pytest.raises(fx.InterpreterError, match="not open"):
        await model(call)
    async with model:
        with pytest.raises(fx.UnhandledEffect, match="only answers ModelCall"):
            await model(fx.ToolCall(id="c", name="add"))
    with pytest.raises(fx.InterpreterError, match="already closed"):
        await model(call)
    with pytest.raises(fx.InterpreterError, match="already closed"):
        async with model:
            pass


def test_configuration_errors() -> None:
    with pytest.raises(fx.ConfigurationError, match=r"no API key for api\.openai\.com"):
        openai()
    with pytest.raises(fx.ConfigurationError, match="base_url must be an http"):
        openai(base_url="127.0.0.1:8000/v1")
    with pytest.raises(fx.ConfigurationError, match="stream must be"):
        openai(base_url="http://127.0.0.1:1/v1", stream=cast("Any", "yes"))
    # an Azure-style key header is credentials enough
    openai(headers={"api-key": "azure-secret"})


def test_the_key_never_shows() -> None:
    model = openai(api_key=KEY, headers={"api-key": "azure-secret"})
    assert KEY not in repr(model) and "azure-secret" not in repr(model)
    assert "api_key=<set>" in repr(model)


# --------------------------------------------------------------------------- streaming


async def test_streamed_run_with_chunked_parallel_tool_calls(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply(TOOL_TURN, size=1, interleave=True).reply(ANSWER, size=3)
    async with model_for(fake_openai) as model:
        interp = agent_interpreter(AGENT, model=model)
        async with stream(AGENT, interp, "What are 2+3 and 10+20?") as events:
            seen = [e async for e in events]
        fake_openai.reply(TOOL_TURN).reply(ANSWER)
        plain = await run(AGENT, interp, "What are 2+3 and 10+20?")
    final = seen[-1]
    assert isinstance(final, fx.RunFinished)
    assert final.state == plain
    check_bodies(fake_openai)
    assert [r.streaming for r in fake_openai.requests] == [True, True, False, False]
    # one delta per character of the arguments, interleaved between the two calls
    arg_deltas = [e for e in seen if isinstance(e, fx.ToolCallArgumentsDelta)]
    assert [e.text for e in arg_deltas][:4] == ["{", "{", '"', '"']
    assert [e.id for e in arg_deltas][:4] == ["call_a", "call_b", "call_a", "call_b"]
    for call in TOOL_TURN.message.tool_calls:
        assert "".join(e.text for e in arg_deltas if e.id == call.id) == call.arguments
    started = [e for e in seen if isinstance(e, fx.ToolCallStarted)]
    assert started == [
        fx.ToolCallStarted(step=1, index=0, id="call_a", name="add"),
        fx.ToolCallStarted(step=1, index=1, id="call_b", name="add"),
    ]
    tokens = [e.text for e in seen if isinstance(e, fx.TokenDelta) and e.step == 2]
    assert tokens[:3] == ["2 +", " 3 ", "= 5"]
    replied = [e for e in seen if isinstance(e, fx.ModelReplied)]
    assert [r.reply.usage for r in replied] == [TOOL_TURN.usage, ANSWER.usage]  # from the usage chunk
    assert [e.usage for e in seen if isinstance(e, fx.StepFinished)] == [TOOL_TURN.usage, ANSWER.usage]


async def test_slow_stream_delivers_tokens_as_they_arrive(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply("abcdefgh", size=1, delay=0.05)
    agent = fx.Agent(model="m")
    async with model_for(fake_openai) as model:
        start = time.monotonic()
        arrivals = []
        async with stream(agent, agent_interpreter(agent, model=model), "go") as events:
            async for event in events:
                if isinstance(event, fx.TokenDelta):
                    arrivals.append(time.monotonic() - start)
    assert len(arrivals) == 8
    assert arrivals[-1] - arrivals[0] >= 0.25  # spread over the stream, not all at the end
    assert arrivals[0] < arrivals[-1] / 2


async def test_stream_true_outside_a_streamed_run_and_stream_false_inside(fake_openai: FakeOpenAI) -> None:
    agent = fx.Agent(model="m")
    fake_openai.reply("streamed anyway", size=4)
    async with model_for(fake_openai, stream=True) as model:
        final = await run(agent, agent_interpreter(agent, model=model), "go")
    assert final.output == "streamed anyway"
    fake_openai.reply("never streamed")
    async with (
        model_for(fake_openai, stream=False) as model,
        stream(agent, agent_interpreter(agent, model=model), "go") as events,
    ):
        seen = [e async for e in events]
    assert [r.streaming for r in fake_openai.requests] == [True, False]
    assert fx.TokenDelta(step=1, text="never streamed") in seen  # stood in for by the loop


async def test_one_streamed_model_call(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply(TOOL_TURN, size=5)
    seen: list[fx.RunEvent] = []
    async with model_for(fake_openai) as model:
        with observe_deltas(seen.append, step=7):
            reply = await model(AGENT.model_call((fx.user("add"),)))
    assert fake_openai.requests[0].streaming
    assert reply.message == TOOL_TURN.message
    assert reply.usage == TOOL_TURN.usage
    assert fx.TokenDelta(step=7, text="Let m") in seen
    assert fx.ToolCallStarted(step=7, index=1, id="call_b", name="add") in seen


@pytest.mark.parametrize("how", ["break", "cancel"])
async def test_cancelling_mid_stream_closes_the_connection(fake_openai: FakeOpenAI, how: str) -> None:
    assert fake_openai.wait_connections(0) == 0
    fake_openai.reply("x" * 200, size=1, delay=0.02)
    agent = fx.Agent(model="m")
    async with model_for(fake_openai) as model:
        interp = agent_interpreter(agent, model=model)
        if how == "break":
            async with stream(agent, interp, "go") as events:
                async for event in events:
                    if isinstance(event, fx.TokenDelta):
                        break
        else:
            with anyio.move_on_after(0.1) as scope:
                async with stream(agent, interp, "go") as events:
                    async for _ in events:
                        pass
            assert scope.cancelled_caught
        # the server saw the client go away, and no connection is left behind
        await anyio.to_thread.run_sync(fake_openai.wait_connections, 0)
        assert fake_openai.open_connections == 0
        assert await anyio.to_thread.run_sync(fake_openai.wait_disconnects, 1) == [0]
        # and the interpreter is still usable
        fake_openai.reply("after")
        reply = await model(fx.ModelCall(model="m", messages=[fx.user("again")]))
        assert reply.message.content == "after"


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, fx.BadRequestError, False),
        (401, fx.AuthenticationError, False),
        (403, fx.AuthenticationError, False),
        (404, fx.NotFoundError, False),
        (408, fx.ProviderTimeoutError, True),
        (409, fx.ConflictError, True),
        (429, fx.RateLimitError, True),
        (500, fx.ServerError, True),
        (502, fx.ServerError, True),
        (503, fx.ServerError, True),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
async def test_http_errors(
    fake_openai: FakeOpenAI, status: int, cls: type[fx.ProviderError], retryable: bool, streaming: bool
) -> None:
    fake_openai.error(status, f"message for {status}", code=f"code_{status}", headers={"retry-after": "3"})
    async with model_for(fake_openai, stream=streaming) as model:
        with pytest.raises(cls) as info:
            await model(fx.ModelCall(model="gpt-x", messages=[fx.user("hi")]))
    err = info.value
    assert err.status == status
    assert err.code == f"code_{status}"
    assert err.request_id == "req_fake_0"
    assert err.retry_after == 3.0
    assert err.retryable is retryable
    assert err.provider_message == f"message for {status}"
    assert f"message for {status}" in str(err)
    assert KEY not in str(err)


async def test_401_says_to_check_the_key_and_never_prints_it(fake_openai: FakeOpenAI) -> None:
    fake_openai.error(
        401,
        f"Incorrect API key provided: {KEY}. You can find your API key at https://platform.openai.com.",
        code="invalid_api_key",
    )
    async with model_for(fake_openai) as model:
        with pytest.raises(fx.AuthenticationError) as info:
            await model(fx.ModelCall(model="m", messages=[fx.user("hi")]))
    text = str(info.value) + repr(info.value) + str(info.value.provider_message)
    assert "check the API key" in text
    assert KEY not in text and KEY[-8:] not in text


async def test_rate_limit_headers(fake_openai: FakeOpenAI) -> None:
    fake_openai.error(
        429,
        "Rate limit reached for requests",
        type="requests",
        code="rate_limit_exceeded",
        headers={"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1.5s"},
    )
    async with model_for(fake_openai) as model:
        with pytest.raises(fx.RateLimitError) as info:
            await model(fx.ModelCall(model="m", messages=[fx.user("hi")]))
    assert info.value.retry_after == 1.5


async def test_wrong_base_url_is_not_found(fake_openai: FakeOpenAI) -> None:
    async with openai(base_url=f"http://127.0.0.1:{fake_openai.port}/api") as model:
        with pytest.raises(fx.NotFoundError, match="most base URLs end in /v1"):
            await model(fx.ModelCall(model="m", messages=[fx.user("hi")]))
    fake_openai.assert_consumed()


@pytest.mark.parametrize("streaming", [False, True])
async def test_not_openai_at_all(fake_openai: FakeOpenAI, streaming: bool) -> None:
    fake_openai.raw(200, b"<html>hello</html>", content_type="text/html")
    async with model_for(fake_openai, stream=streaming) as model:
        with pytest.raises(fx.MalformedResponse) as info:
            await model(fx.ModelCall(model="m", messages=[fx.user("hi")]))
    assert "stream" in str(info.value) if streaming else "not JSON" in str(info.value)


async def test_stream_ending_before_done(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply("this reply is cut short", size=5, done=False)
    async with model_for(fake_openai, stream=True) as model:
        with pytest.raises(fx.StreamInterrupted, match=r"without 'data: \[DONE\]'") as info:
            await model(fx.ModelCall(model="m", messages=[fx.user("hi")]))
    assert info.value.retryable


async def test_connection_dropped_mid_stream(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply("this reply is cut short", size=5, done=False, cut=True)
    agent = fx.Agent(model="m")
    seen: list[fx.RunEvent] = []

    async def consume(model: Any) -> None:
        async with stream(agent, agent_interpreter(agent, model=model), "go") as events:
            async for event in events:
                seen.append(event)

    async with model_for(fake_openai) as model:
        with pytest.raises(fx.StreamInterrupted, match="connection broke in the middle of the stream"):
            await consume(model)
    assert fake_openai.cuts == [0]
    assert fx.TokenDelta(step=1, text="this ") in seen  # provisional deltas came before the failure
    assert not any(isinstance(e, fx.ModelReplied) for e in seen)


async def test_invalid_json_in_a_chunk(fake_openai: FakeOpenAI) -> None:
    good = json.dumps({"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": None}]})
    fake_openai.stream_raw([good, '{"choices": [{"index": 0, "delta": {"content": "br'])
    async with model_for(fake_openai, stream=True) as model:
        with pytest.raises(fx.MalformedResponse, match="chunk #2 is not valid JSON"):
            await model(fx.ModelCall(model="m", messages=[fx.user("hi")]))


async def test_error_event_mid_stream(fake_openai: FakeOpenAI) -> None:
    good = json.dumps({"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": None}]})
    error = json.dumps(
        {"error": {"message": "The server had an error", "type": "server_error", "code": None}}
    )
    fake_openai.stream_raw([good, error], done=False)
    async with model_for(fake_openai, stream=True) as model:
        with pytest.raises(fx.ServerError, match="The server had an error") as info:
            await model(fx.ModelCall(model="m", messages=[fx.user("hi")]))
    assert info.value.retryable


async def test_read_timeout(fake_openai: FakeOpenAI) -> None:
    fake_openai.push(Completion(reply=fx.ModelReply(message=fx.assistant("late")), first_delay=1.0))
    async with model_for(fake_openai, timeout=httpx.Timeout(5.0, read=0.1)) as model:
        with pytest.raises(fx.ProviderTimeoutError, match=r"sent nothing for 0\.1s while we waited") as info:
            await model(fx.ModelCall(model="m", messages=[fx.user("hi")]))
    assert info.value.retryable and info.value.status is None


async def test_read_timeout_mid_stream(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply("slow stream", size=2, delay=1.0)
    async with model_for(fake_openai, stream=True, timeout=httpx.Timeout(5.0, read=0.1)) as model:
        with pytest.raises(fx.ProviderTimeoutError, match="in the middle of the stream"):
            await model(fx.ModelCall(model="m", messages=[fx.user("hi")]))


async def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # nothing listens on the port now
    async with openai(base_url=f"http://127.0.0.1:{port}/v1") as model:
        with pytest.raises(fx.ProviderConnectionError, match="check that it is running") as info:
            await model(fx.ModelCall(model="m", messages=[fx.user("hi")]))
    assert info.value.retryable


@pytest.fixture
def unaccepting_port() -> Iterator[int]:
    """A port whose accept queue is full, so a new connection hangs in the handshake."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.05)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        server.close()


async def test_connect_timeout(unaccepting_port: int) -> None:
    async with openai(
        base_url=f"http://127.0.0.1:{unaccepting_port}/v1", timeout=httpx.Timeout(5.0, connect=0.2)
    ) as model:
        with pytest.raises(fx.ProviderTimeoutError, match=r"could not connect to .* within 0\.2s") as info:
            await model(fx.ModelCall(model="m", messages=[fx.user("hi")]))
    assert info.value.retryable


# -- our own client: requests built from parts merged once, cookies kept as httpx keeps them ------


@pytest.mark.parametrize("streaming", [False, True])
async def test_requests_of_our_own_client_are_what_build_request_would_make(streaming: bool) -> None:
    model = openai(
        base_url="http://127.0.0.1:1/v1/",
        api_key=KEY,
        headers={"X-Extra": "1", "accept": "application/json; q=1"},
        query={"api-version": "2024-01-01"},
        timeout=7.0,
    )
    body = fx.openai.to_openai_request(AGENT.model_call((fx.user("hé"),)), stream=streaming)
    async with model:
        client = model._client
        assert client is not None
        expected = client.build_request(
            "POST",
            "chat/completions",
            json=body,
            headers={"Accept": "text/event-stream"} if streaming else None,
        )
        request = model._request(client, body, streaming)
    assert request.method == expected.method
    assert request.url == expected.url
    assert request.headers.raw == expected.headers.raw  # names as sent, order included
    assert request.content == expected.content
    assert request.extensions == expected.extensions


async def test_cookies_the_server_sets_are_sent_back_as_httpx_would(fake_openai: FakeOpenAI) -> None:
    body = json.dumps(fx.openai.to_openai_response(fx.ModelReply(message=fx.assistant("a")), created=0))
    fake_openai.raw(200, body.encode(), headers={"set-cookie": "session=abc; Path=/"})
    fake_openai.reply("b").reply("c", size=1)
    call = fx.ModelCall(model="m", messages=[fx.user("hello")])
    async with model_for(fake_openai) as model:
        assert (await model(call)).message.content == "a"
        assert (await model(call)).message.content == "b"
        async with stream(
            fx.Agent(model="m"), agent_interpreter(fx.Agent(model="m"), model=model), "x"
        ) as ev:
            await ev.collect_final()
    first, second, third = fake_openai.requests
    assert "cookie" not in first.headers
    assert second.headers["cookie"] == "session=abc"
    assert third.headers["cookie"] == "session=abc"
    assert third.headers["accept"] == "text/event-stream"
