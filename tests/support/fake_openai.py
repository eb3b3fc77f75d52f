"""A fake OpenAI chat-completions server on 127.0.0.1, for tests and benchmarks.

It is a real HTTP server (uvicorn, HTTP/1.1 with keep-alive) in a thread of
its own, speaking the chat-completions wire format, so the code under test
goes through sockets, chunked encoding and server-sent events for real.

Script it with a queue of responses, one per request, in order::

    fake.reply("Hello!")                       # a completion: JSON, or SSE if the request streams
    fake.reply(fx.assistant(None, call))       # a tool call (any reply value works)
    fake.error(429, "Slow down", headers={"retry-after": "2"})
    fake.stream_raw(['{"choices": []}'], done=False)   # hand-written SSE data lines
    fake.raw(200, b"not json")                 # any bytes

and read what it received: ``fake.requests[i].body`` (parsed JSON),
``.headers``, ``.path``. ``fake.assert_consumed()`` checks every scripted
response was asked for; a request with nothing scripted gets a 500 whose
message says so, and is listed in ``fake.unexpected``.

In tests use the ``fake_openai`` fixture (``tests/conftest.py``): one server
per test session, reset before each test. Elsewhere::

    with FakeOpenAI.running() as fake:
        ...  # fake.base_url is "http://127.0.0.1:<port>/v1"

Run ``python tests/support/fake_openai.py --reply TEXT`` to serve one canned
reply to every request (what ``bench/openai_overhead.py`` does); it prints the
base URL on its first line.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, Protocol, final

import attrs
import uvicorn

import tower_llm_fx as fx
import tower_llm_fx.openai

__all__ = [
    "Completion",
    "ErrorResponse",
    "FakeOpenAI",
    "RawResponse",
    "RawStream",
    "ReceivedRequest",
    "Response",
]

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@final
@attrs.frozen(kw_only=True)
class ReceivedRequest:
    """One request the server received."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    raw: bytes
    body: Any  # parsed JSON, or None if the body was not JSON

    @property
    def streaming(self) -> bool:
        """Whether the request asked for a stream."""
        return isinstance(self.body, dict) and bool(self.body.get("stream"))


@final
@attrs.define
class _Exchange:
    """What the app needs to answer one request, and to report back."""

    server: FakeOpenAI
    index: int
    request: ReceivedRequest
    receive: Receive
    send: Send

    async def start(
        self, status: int, headers: Mapping[str, str] | None = None, *, content_type: str
    ) -> None:
        all_headers = {
            "content-type": content_type,
            "x-request-id": f"req_fake_{self.index}",
            **(headers or {}),
        }
        await self.send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.lower().encode(), v.encode()) for k, v in all_headers.items()],
            }
        )

    async def body(self, data: bytes, *, more: bool = False) -> None:
        await self.send({"type": "http.response.body", "body": data, "more_body": more})

    async def json(self, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> None:
        await self.start(status, headers, content_type="application/json")
        await self.body(json.dumps(payload).encode())

    async def sse(
        self,
        datas: Sequence[str],
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        first_delay: float = 0.0,
        done: bool = True,
        cut: bool = False,
    ) -> None:
        """Stream ``data:`` lines; stop early (and record it) if the client goes away."""
        await self.start(status, headers, content_type="text/event-stream; charset=utf-8")
        gone = asyncio.Event()

        async def watch() -> None:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                gone.set()

        watcher = asyncio.ensure_future(watch())
        try:
            lines = [f"data: {d}\n\n" for d in datas]
            if done:
                lines.append("data: [DONE]\n\n")
            for i, line in enumerate(lines):
                pause = first_delay if i == 0 else delay
                if pause:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(gone.wait(), pause)
                if gone.is_set():
                    self.server._record_disconnect(self.index)
                    return
                await self.body(line.encode(), more=True)
            if cut:
                self.server._record_cut(self.index)
                return  # returning without finishing the body: uvicorn drops the connection
            await self.body(b"")
        finally:
            watcher.cancel()


class Response(Protocol):
    """A scripted response: answers one request."""

    async def __call__(self, exchange: _Exchange, /) -> None: ...


@final
@attrs.frozen(kw_only=True)
class Completion:
    """A completion for ``reply``: JSON, or SSE chunks if the request streams.

    ``size`` is the characters per streamed piece; ``delay`` the pause between
    chunks (``first_delay`` before the first); ``interleave`` alternates the
    argument pieces of parallel tool calls; ``done=False`` leaves out
    ``data: [DONE]`` and ``cut=True`` then drops the connection mid-body.
    """

    reply: fx.ModelReply
    size: int = 8
    delay: float = 0.0
    first_delay: float = 0.0
    interleave: bool = False
    done: bool = True
    cut: bool = False
    headers: Mapping[str, str] = attrs.field(factory=dict)

    async def __call__(self, exchange: _Exchange, /) -> None:
        body = exchange.request.body if isinstance(exchange.request.body, dict) else {}
        reply = self.reply
        if reply.id is None or reply.model is None:
            reply = attrs.evolve(
                reply,
                id=reply.id or f"chatcmpl-fake{exchange.index}",
                model=reply.model or str(body.get("model", "fake-model")),
            )
        if exchange.request.streaming:
            options = body.get("stream_options") or {}
            chunks = fx.openai.to_openai_chunks(
                reply,
                size=self.size,
                interleave=self.interleave,
                include_usage=bool(options.get("include_usage")),
                created=1_700_000_000,
            )
            await exchange.sse(
                [json.dumps(c) for c in chunks],
                headers=self.headers,
                delay=self.delay,
                first_delay=self.first_delay,
                done=self.done,
                cut=self.cut,
            )
        else:
            if self.first_delay:
                await asyncio.sleep(self.first_delay)
            await exchange.json(200, fx.openai.to_openai_response(reply, created=1_700_000_000), self.headers)


@final
@attrs.frozen(kw_only=True)
class ErrorResponse:
    """An OpenAI-style error: ``{"error": {"message", "type", "param", "code"}}``."""

    status: int
    message: str
    type: str = "invalid_request_error"
    code: str | None = None
    param: str | None = None
    headers: Mapping[str, str] = attrs.field(factory=dict)

    async def __call__(self, exchange: _Exchange, /) -> None:
        error = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        await exchange.json(self.status, {"error": error}, self.headers)


@final
@attrs.frozen(kw_only=True)
class RawResponse:
    """Any status, headers and body bytes; ``delay`` seconds before answering.

    ``cut=True`` drops the connection after the body instead of ending it (give
    a ``content-length`` header larger than the body to cut a framed body).
    ``stall=s`` hangs after the body (``b""``: after the headers) instead: the
    connection stays open, silent, for ``s`` seconds or until the client leaves.
    """

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: Mapping[str, str] = attrs.field(factory=dict)
    delay: float = 0.0
    cut: bool = False
    stall: float = 0.0

    async def __call__(self, exchange: _Exchange, /) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        await exchange.start(self.status, self.headers, content_type=self.content_type)
        await exchange.body(self.body, more=self.cut or self.stall > 0)
        if self.stall > 0:
            with contextlib.suppress(TimeoutError):  # the client gave up: a disconnect
                await asyncio.wait_for(exchange.receive(), self.stall)
                exchange.server._record_disconnect(exchange.index)
                return
        if self.cut or self.stall > 0:
            exchange.server._record_cut(exchange.index)  # returning mid-body: uvicorn drops the connection


@final
@attrs.frozen(kw_only=True)
class RawStream:
    """Hand-written SSE ``data:`` payloads (strings sent as they are)."""

    datas: tuple[str, ...]
    delay: float = 0.0
    first_delay: float = 0.0
    done: bool = True
    cut: bool = False
    status: int = 200
    headers: Mapping[str, str] = attrs.field(factory=dict)

    async def __call__(self, exchange: _Exchange, /) -> None:
        await exchange.sse(
            self.datas,
            status=self.status,
            headers=self.headers,
            delay=self.delay,
            first_delay=self.first_delay,
            done=self.done,
            cut=self.cut,
        )


def _as_reply(reply: fx.ModelReply | fx.AssistantMessage | str) -> fx.ModelReply:
    if isinstance(reply, fx.ModelReply):
        return reply
    if isinstance(reply, fx.AssistantMessage):
        return fx.ModelReply(
            message=reply,
            finish_reason="tool_calls" if reply.tool_calls else "stop",
            usage=fx.Usage(prompt_tokens=10, completion_tokens=5),
        )
    return fx.ModelReply(
        message=fx.AssistantMessage(content=reply), usage=fx.Usage(prompt_tokens=10, completion_tokens=5)
    )


class FakeOpenAI:
    """The server; see the module docstring. Thread-safe to script while it runs."""

    def __init__(self, *, default: Response | None = None) -> None:
        self._script: collections.deque[Response] = collections.deque()
        self._lock = threading.Lock()
        self.default = default
        self.requests: list[ReceivedRequest] = []
        self.unexpected: list[ReceivedRequest] = []
        self.disconnects: list[int] = []
        self.cuts: list[int] = []
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self.port = 0

    # ----------------------------------------------------------------- lifecycle

    @classmethod
    @contextlib.contextmanager
    def running(cls, *, default: Response | None = None) -> Iterator[FakeOpenAI]:
        """Start a server for the block, then stop it."""
        server = cls(default=default)
        server.start()
        try:
            yield server
        finally:
            server.stop()

    def start(self) -> None:
        """Bind a free port on 127.0.0.1 and serve from a daemon thread."""
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets that
        # say so, and without it Nagle's algorithm meets delayed ACKs: +40 ms per response.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(("127.0.0.1", 0))
        self._socket = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            lifespan="off",
            interface="asgi3",
            proxy_headers=False,
            server_header=False,
            date_header=False,
            log_config=None,
            log_level="warning",
            access_log=False,
            ws="none",
            http="h11",
            loop="asyncio",
            timeout_keep_alive=30,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake OpenAI server did not start")
            time.sleep(0.005)

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def open_connections(self) -> int:
        """TCP connections the server currently holds open."""
        return 0 if self._server is None else len(self._server.server_state.connections)

    def wait_connections(self, count: int, timeout: float = 5.0) -> int:
        """Wait until at most ``count`` connections are open; return how many are."""
        deadline = time.monotonic() + timeout
        while self.open_connections > count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.open_connections

    def wait_disconnects(self, count: int, timeout: float = 5.0) -> list[int]:
        """Wait until at least ``count`` clients went away mid-stream; return their request indexes."""
        deadline = time.monotonic() + timeout
        while len(self.disconnects) < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return list(self.disconnects)

    def reset(self) -> None:
        """Forget the script and the logs (the fixture does this before each test)."""
        with self._lock:
            self._script.clear()
            self.requests.clear()
            self.unexpected.clear()
            self.disconnects.clear()
            self.cuts.clear()
            self.default = None

    # ----------------------------------------------------------------- scripting

    def push(self, *responses: Response) -> FakeOpenAI:
        """Queue responses for the next requests, in order."""
        with self._lock:
            self._script.extend(responses)
        return self

    def reply(
        self,
        reply: fx.ModelReply | fx.AssistantMessage | str,
        **options: Any,
    ) -> FakeOpenAI:
        """Queue a completion (see `Completion` for the options)."""
        return self.push(Completion(reply=_as_reply(reply), **options))

    def error(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> FakeOpenAI:
        """Queue an OpenAI-style error response."""
        return self.push(
            ErrorResponse(
                status=status, message=message, type=type, code=code, param=param, headers=headers or {}
            )
        )

    def raw(self, status: int, body: bytes, **options: Any) -> FakeOpenAI:
        """Queue a raw response (see `RawResponse`)."""
        return self.push(RawResponse(status=status, body=body, **options))

    def stream_raw(self, datas: Sequence[str], **options: Any) -> FakeOpenAI:
        """Queue hand-written SSE data payloads (see `RawStream`)."""
        return self.push(RawStream(datas=tuple(datas), **options))

    @property
    def pending(self) -> int:
        """Scripted responses not asked for yet."""
        return len(self._script)

    def assert_consumed(self) -> None:
        """Fail if a scripted response was never asked for, or a request found none."""
        problems = []
        if self._script:
            problems.append(f"{len(self._script)} scripted response(s) never requested: {list(self._script)}")
        if self.unexpected:
            problems.append(f"{len(self.unexpected)} request(s) had no scripted response")
        if problems:
            raise AssertionError("; ".join(problems))

    def _record_disconnect(self, index: int) -> None:
        with self._lock:
            self.disconnects.append(index)

    def _record_cut(self, index: int) -> None:
        with self._lock:
            self.cuts.append(index)

    # ----------------------------------------------------------------- the ASGI app

    async def _app(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            raw.extend(message.get("body", b""))
            if not message.get("more_body"):
                break
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        request = ReceivedRequest(
            method=scope["method"],
            path=scope["path"],
            query=scope.get("query_string", b"").decode(),
            headers={k.decode().lower(): v.decode() for k, v in scope["headers"]},
            raw=bytes(raw),
            body=body,
        )
        wrong_route = request.path.rstrip("/") != "/v1/chat/completions" or request.method != "POST"
        with self._lock:
            index = len(self.requests)
            self.requests.append(request)
            response: Response | None = None
            if not wrong_route:
                response = self._script.popleft() if self._script else self.default
                if response is None:
                    self.unexpected.append(request)
        exchange = _Exchange(self, index, request, receive, send)
        if wrong_route:
            await exchange.json(
                404,
                {
                    "error": {
                        "message": f"Invalid URL ({request.method} {request.path})",
                        "type": "invalid_request_error",
                        "param": None,
                        "code": None,
                    }
                },
            )
            return
        if response is None:
            await exchange.json(
                500,
                {
                    "error": {
                        "message": f"fake OpenAI server: nothing scripted for request #{index} "
                        f"({request.method} {request.path}); add fake.reply(...) to the test",
                        "type": "server_error",
                        "param": None,
                        "code": "fake_server_unscripted",
                    }
                },
            )
            return
        await response(exchange)


def main(argv: Sequence[str] | None = None) -> None:
    """Serve one canned reply forever (for benchmarks); print the base URL first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reply", default="Hello! How can I help you today?")
    parser.add_argument("--size", type=int, default=8)
    args = parser.parse_args(argv)
    server = FakeOpenAI(default=Completion(reply=_as_reply(args.reply), size=args.size))
    server.start()
    print(server.base_url, flush=True)
    try:
        sys.stdin.read()  # serve until stdin closes (the parent exits or closes the pipe)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
