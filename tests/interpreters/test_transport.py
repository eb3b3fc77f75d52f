"""`interpreters._transport`, through `openai()` against the fake server on 127.0.0.1.

Calls beyond ``max_connections`` wait their turn, first come first served, on connections that
stay alive (none closed as "excess idle" after a burst); ``max_connections=None`` uses httpx's
plain transport; bad limits are configuration errors; a refused connection attempt is tried
again before it is an error. Trio and asyncio.
"""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread
import httpcore
import httpx
import pytest

import tower_llm_fx as fx
import tower_llm_fx.openai
from interpreters import openai
from interpreters._transport import _BUFFER, ScalingTransport, _Coalesced
from tests.support.fake_openai import Completion, FakeOpenAI

pytestmark = pytest.mark.anyio

KEY = "sk-test-0123456789abcdef"


def model_for(fake: FakeOpenAI, **options: Any) -> Any:
    return openai(base_url=fake.base_url, api_key=KEY, **options)


# -- many calls in flight: queued below the connection limit, kept alive, retried on connect ------


async def test_calls_beyond_max_connections_wait_their_turn_on_kept_alive_connections(
    fake_openai: FakeOpenAI,
) -> None:
    assert fake_openai.wait_connections(0) == 0
    fake_openai.default = Completion(reply=fx.ModelReply(message=fx.assistant("ok")), first_delay=0.02)
    seen: list[int] = []
    replies: list[str | None] = []

    async def call(i: int) -> None:
        reply = await model(fx.ModelCall(model="m", messages=[fx.user(f"q{i}")]))
        replies.append(reply.message.content)

    async with model_for(fake_openai, limits=httpx.Limits(max_connections=3)) as model:
        async with anyio.create_task_group() as tg:
            for i in range(12):
                tg.start_soon(call, i)

            async def watch() -> None:
                while len(replies) < 12:
                    seen.append(fake_openai.open_connections)
                    await anyio.sleep(0.002)

            tg.start_soon(watch)
        assert replies == ["ok"] * 12
        assert max(seen) <= 3  # the other calls waited instead of opening connections
        # ... and the three connections stay open for the next calls (none closed as "excess idle")
        assert fake_openai.open_connections == 3
    assert len(fake_openai.requests) == 12


async def test_queued_calls_go_out_first_come_first_served(fake_openai: FakeOpenAI) -> None:
    fake_openai.default = Completion(reply=fx.ModelReply(message=fx.assistant("ok")), first_delay=0.01)
    async with (
        model_for(fake_openai, limits=httpx.Limits(max_connections=1)) as model,
        anyio.create_task_group() as tg,
    ):
        for i in range(6):
            tg.start_soon(model, fx.ModelCall(model="m", messages=[fx.user(f"q{i}")]))
            await anyio.lowlevel.checkpoint()  # each call is waiting before the next starts
    assert [r.body["messages"][-1]["content"] for r in fake_openai.requests] == [f"q{i}" for i in range(6)]


async def test_no_connection_limit_uses_the_plain_httpx_transport(fake_openai: FakeOpenAI) -> None:
    fake_openai.reply("fine")
    async with model_for(fake_openai, limits=httpx.Limits(max_connections=None)) as model:
        assert (await model(fx.ModelCall(model="m", messages=[fx.user("hi")]))).message.content == "fine"


async def test_a_proxy_in_the_environment_is_used_not_ignored(
    fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fake server stands in for the proxy: a request for another host reaches it in
    # absolute form (GET http://host/path), which it answers 404 after logging the path.
    origin = fake_openai.base_url.removesuffix("/v1")
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", origin)
    monkeypatch.setenv("http_proxy", origin)
    async with openai(base_url="http://model.invalid/v1", api_key="sk-test") as model:
        with pytest.raises(
            fx.NotFoundError, match=r"Invalid URL \(POST http://model\.invalid/v1/chat/completions\)"
        ):
            await model(fx.ModelCall(model="m", messages=[fx.user("hi")]))
    assert fake_openai.requests[-1].path == "http://model.invalid/v1/chat/completions"


@pytest.mark.parametrize("limits", [httpx.Limits(max_connections=0), {"max_connections": 3}])
def test_bad_limits_are_configuration_errors(limits: Any) -> None:
    with pytest.raises(fx.ConfigurationError, match="limits"):
        openai(base_url="http://127.0.0.1:1/v1", limits=limits)


def _late_server(port: int, after: float, body: bytes, done: list[bool]) -> None:
    """Start listening on ``port`` only ``after`` seconds from now; answer one request with ``body``."""
    time.sleep(after)
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen(1)
        server.settimeout(10)
        conn, _ = server.accept()
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, rest = data.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            while len(rest) < length:
                rest += conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
                + f"content-length: {len(body)}\r\n\r\n".encode()
                + body
            )
    done.append(True)


async def test_a_refused_connection_is_tried_again_before_it_is_an_error() -> None:
    # The server comes up 0.2 s after the first attempt was refused: the retry reaches it.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    body = json.dumps(
        fx.openai.to_openai_response(fx.ModelReply(message=fx.assistant("made it")), created=0)
    ).encode()
    done: list[bool] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(anyio.to_thread.run_sync, _late_server, port, 0.2, body, done)
        async with openai(base_url=f"http://127.0.0.1:{port}/v1") as model:
            reply = await model(fx.ModelCall(model="m", messages=[fx.user("hi")]))
    assert reply.message.content == "made it"
    assert done == [True]


async def test_by_default_every_connection_of_a_burst_is_kept_alive(fake_openai: FakeOpenAI) -> None:
    # httpcore closes an idle connection whenever the pool holds more connections than the
    # keep-alive limit; with the old default (20 of 100) a burst of 30 calls left at most 20,
    # and the next burst reconnected. Now all 30 stay open for the next burst.
    assert fake_openai.wait_connections(0) == 0
    fake_openai.default = Completion(reply=fx.ModelReply(message=fx.assistant("ok")), first_delay=0.05)
    async with model_for(fake_openai) as model:
        for _ in range(2):
            async with anyio.create_task_group() as tg:
                for i in range(30):
                    tg.start_soon(model, fx.ModelCall(model="m", messages=[fx.user(f"q{i}")]))
            assert fake_openai.open_connections == 30
    assert len(fake_openai.requests) == 60


def _server_that_hangs_up(server: socket.socket, bodies: list[bytes], connections: list[int]) -> None:
    """Answer each request on a fresh connection (kept alive as far as the headers say), then hang up."""
    with server:
        server.settimeout(10)
        for body in bodies:
            conn, _ = server.accept()
            connections.append(1)
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    + f"content-length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                time.sleep(0.05)  # then close: the client's idle connection is now dead


async def test_a_connection_the_server_closed_while_idle_is_not_reused() -> None:
    bodies = [
        json.dumps(fx.openai.to_openai_response(fx.ModelReply(message=fx.assistant(t)), created=0)).encode()
        for t in ("one", "two")
    ]
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    port = server.getsockname()[1]
    connections: list[int] = []
    async with anyio.create_task_group() as tg:
        tg.start_soon(anyio.to_thread.run_sync, _server_that_hangs_up, server, bodies, connections)
        async with openai(base_url=f"http://127.0.0.1:{port}/v1") as model:
            call = fx.ModelCall(model="m", messages=[fx.user("hi")])
            assert (await model(call)).message.content == "one"
            await anyio.sleep(0.3)  # the server has hung up by now
            assert (await model(call)).message.content == "two"
    assert len(connections) == 2


async def test_idle_connections_beyond_the_keepalive_limit_are_closed(fake_openai: FakeOpenAI) -> None:
    assert fake_openai.wait_connections(0) == 0
    fake_openai.default = Completion(reply=fx.ModelReply(message=fx.assistant("ok")), first_delay=0.05)
    limits = httpx.Limits(max_connections=3, max_keepalive_connections=1)
    async with model_for(fake_openai, limits=limits) as model:
        async with anyio.create_task_group() as tg:
            for i in range(3):
                tg.start_soon(model, fx.ModelCall(model="m", messages=[fx.user(f"q{i}")]))
        assert fake_openai.wait_connections(1) == 1
    assert fake_openai.wait_connections(0) == 0


async def test_connections_to_another_origin_count_against_the_same_limit(fake_openai: FakeOpenAI) -> None:
    # One slot: a call to the second server closes the idle connection to the first.
    assert fake_openai.wait_connections(0) == 0
    transport = ScalingTransport(httpx.Limits(max_connections=1))
    with FakeOpenAI.running() as other:
        fake_openai.reply("first").reply("again")
        other.reply("second")
        async with httpx.AsyncClient(transport=transport) as client:
            for fake in (fake_openai, other, fake_openai):
                async with openai(base_url=fake.base_url, http_client=client) as model:
                    await model(fx.ModelCall(model="m", messages=[fx.user("hi")]))
                assert fake.open_connections == 1
                assert (other if fake is fake_openai else fake_openai).wait_connections(0) == 0
        assert other.wait_connections(0) == 0
    assert [r.body["messages"][0]["content"] for r in fake_openai.requests] == ["hi", "hi"]


# -- a request goes out in one write --------------------------------------------------------------


class _Recorder(httpcore.AsyncNetworkStream):
    def __init__(self, fail: bool = False) -> None:
        self.log: list[tuple[str, bytes]] = []
        self.fail = fail

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        self.log.append(("read", b""))
        return b"reply"

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if self.fail:
            raise httpcore.WriteError("broken pipe")
        self.log.append(("write", buffer))

    async def aclose(self) -> None:
        self.log.append(("close", b""))


async def test_writes_are_sent_together_when_the_response_is_read() -> None:
    inner = _Recorder()
    stream = _Coalesced(inner)
    for part in (b"head ", b"body", b""):
        await stream.write(part, timeout=1.0)
    assert inner.log == []
    assert await stream.read(10, timeout=1.0) == b"reply"
    assert inner.log == [("write", b"head body"), ("read", b"")]
    await stream.write(b"x" * (_BUFFER + 1))  # too much to hold back: sent at once
    assert inner.log[-1] == ("write", b"x" * (_BUFFER + 1))


async def test_a_write_error_while_sending_leaves_the_read_to_tell() -> None:
    # As httpcore does: the server may have answered (say 413) before it read the whole request.
    inner = _Recorder(fail=True)
    stream = _Coalesced(inner)
    await stream.write(b"request")
    assert await stream.read(10) == b"reply"
    await stream.aclose()
    assert inner.log == [("read", b""), ("close", b"")]
