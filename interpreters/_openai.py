"""`openai`: the live interpreter for OpenAI-compatible chat-completions APIs.

It moves bytes and nothing else: the request body, the decoding of replies,
stream chunks and errors are all the pure codec's (``tower_llm_fx``'s
``to_openai_request``, ``from_openai_response``, ``OpenAIStream``,
``from_openai_error``). What lives here is what needs the world: one
``httpx.AsyncClient`` (connection pool, HTTP/1.1 keep-alive), the API key
from the environment, the clock for ``Retry-After`` dates, and turning
httpx's transport failures into ``ProviderError`` subclasses.

It works with any server that speaks the chat-completions format through
``base_url``: OpenAI, Azure-style deployments (``headers={"api-key": ...}``,
``query={"api-version": ...}``), vLLM, Ollama, llama.cpp's server, LM Studio.
"""

from __future__ import annotations

import base64
import contextlib
import os
import time
import urllib.request
from collections.abc import AsyncGenerator, Mapping
from types import TracebackType
from typing import Any, TypeVar, cast, final

import anyio
import httpx
from httpx_sse import ServerSentEvent, SSEError

from tower_llm_fx import (
    ConfigurationError,
    Effect,
    InterpreterError,
    MalformedResponse,
    ModelCall,
    ModelReply,
    ProviderConnectionError,
    ProviderTimeoutError,
    StreamInterrupted,
    UnhandledEffect,
    __version__,
)
from tower_llm_fx.openai import (
    Dialect,
    OpenAIStream,
    from_openai_error,
    from_openai_response,
    to_openai_request,
)
from tower_llm_fx.openai import dialect as get_dialect

from ._event_sink import event_sink
from ._sse import strict_sse
from ._transport import DEFAULT_LIMITS, ScalingTransport

__all__ = ["DEFAULT_LIMITS", "DEFAULT_TIMEOUT", "openai"]

R = TypeVar("R")

OPENAI_BASE_URL = "https://api.openai.com/v1"

DEFAULT_TIMEOUT = httpx.Timeout(600.0, connect=5.0)
"""10 minutes for a reply (long generations are slow), 5 seconds to connect."""

_SENSITIVE = ("key", "auth", "token", "secret")


def _split_userinfo(base_url: str) -> tuple[str, str | None]:
    """``base_url`` without ``user:password@``, and the ``Authorization: Basic`` value it stood for.

    Credentials in the URL would otherwise show in ``repr()``, in error messages
    and in httpx's INFO log of every request URL; as a header they are sent the
    same way (httpx turns URL userinfo into Basic auth) but never printed.
    """
    url = httpx.URL(base_url)
    if not url.userinfo:
        return base_url, None
    token = base64.b64encode(f"{url.username}:{url.password}".encode()).decode("ascii")
    return str(url.copy_with(userinfo=b"")), f"Basic {token}"


def _env_proxied() -> bool:
    """Whether the environment names an HTTP proxy (what httpx reads when it is given no transport)."""
    found = urllib.request.getproxies()
    return any(found.get(scheme) for scheme in ("http", "https", "all"))


def _timeout_error(
    exc: httpx.TimeoutException, timeout: httpx.Timeout, url: str, streaming: bool
) -> Exception:
    if isinstance(exc, httpx.ConnectTimeout):
        what = f"could not connect to {url} within {timeout.connect}s; is the server up and reachable?"
    elif isinstance(exc, httpx.ReadTimeout):
        what = (
            f"the server sent nothing for {timeout.read}s "
            + ("in the middle of the stream" if streaming else "while we waited for the reply")
            + "; raise openai(timeout=...) if the model needs longer"
        )
    elif isinstance(exc, httpx.PoolTimeout):
        what = (
            f"no connection to {url} became free within {timeout.pool}s; too many concurrent calls "
            "for the connection pool (openai(limits=httpx.Limits(...)))"
        )
    else:
        what = f"sending the request to {url} took longer than {timeout.write}s"
    return ProviderTimeoutError(f"timed out: {what}", retryable=True)


async def _abandon(response: httpx.Response, events: AsyncGenerator[ServerSentEvent, None]) -> None:
    """Stop reading a stream half-way without leaving httpx's async generators suspended.

    httpx reads a body through a chain of async generators. Leaving the loop
    (our error, or a cancellation while we hand an event on) closes only the
    outermost; trio then warns about each inner one when it is collected
    (encode/httpx#3686). Closing the response first and pulling once more
    makes every generator in the chain finish with the read error instead.
    Shielded and bounded: it only touches a closed connection.
    """
    with anyio.CancelScope(shield=True) as scope:
        scope.deadline = anyio.current_time() + 1.0
        await response.aclose()
        with contextlib.suppress(Exception):
            async for _ in events:
                pass


@final
class _Cookies(httpx.Cookies):
    """The cookie jar of our own client: a response without ``Set-Cookie`` is not looked at.

    httpx hands every response to the jar, which builds urllib request and
    response objects to find no cookie in most of them. With ``Set-Cookie``
    (or ``Set-Cookie2``) it does exactly what httpx's jar does.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


@final
class _Prebuilt:
    """What ``build_request("POST", "chat/completions", json=...)`` merges, merged once.

    Our own client's base URL, query, headers and timeout never change, so the
    URL and headers it would merge for each request are merged when it opens;
    a request is then ``httpx.Request`` of those and the body. Only used while
    the client holds no cookies (those it merges per request).
    """

    __slots__ = ("_headers", "_stream_headers", "_timeout", "_url")

    def __init__(self, client: httpx.AsyncClient, stream_headers: Mapping[str, str]) -> None:
        self._url = client.build_request("POST", "chat/completions").url
        self._timeout = client.timeout.as_dict()
        self._headers = httpx.Headers(client.headers)
        self._stream_headers = httpx.Headers(client.headers)
        self._stream_headers.update(stream_headers)

    def request(self, body: dict[str, Any], streaming: bool) -> httpx.Request:
        headers = self._stream_headers if streaming else self._headers
        return httpx.Request(
            "POST", self._url, json=body, headers=headers, extensions={"timeout": self._timeout}
        )


@final
class _OpenAI:
    """The interpreter `openai` returns; open it with ``async with``."""

    __slots__ = (
        "_base_url",
        "_client",
        "_dialect",
        "_external",
        "_fast",
        "_has_key",
        "_headers",
        "_limits",
        "_owned",
        "_query",
        "_request_headers",
        "_request_params",
        "_secrets",
        "_state",
        "_stream",
        "_stream_headers",
        "_timeout",
        "_transport",
    )

    def __init__(
        self,
        *,
        base_url: str,
        headers: dict[str, str],
        secrets: tuple[str, ...],
        has_key: bool,
        query: Mapping[str, str],
        timeout: httpx.Timeout,
        stream: bool | None,
        transport: httpx.AsyncBaseTransport | None,
        limits: httpx.Limits,
        http_client: httpx.AsyncClient | None,
        dialect: Dialect | None = None,
    ) -> None:
        self._dialect = dialect
        self._base_url = base_url
        self._headers = headers
        self._secrets = secrets
        self._has_key = has_key
        self._query = dict(query)
        self._timeout = timeout
        self._stream = stream
        self._transport = transport
        self._limits = limits
        self._external = http_client
        self._client: httpx.AsyncClient | None = None
        self._owned = False
        self._state = "new"
        # With a client of the caller's, our headers go on each request instead.
        self._request_headers: dict[str, str] | None = None
        self._request_params: dict[str, str] | None = None
        self._stream_headers: dict[str, str] = {"Accept": "text/event-stream"}
        self._fast: _Prebuilt | None = None  # what every request of our own client carries

    async def __aenter__(self) -> _OpenAI:
        if self._state != "new":
            raise InterpreterError(
                f"this openai() interpreter was already {self._state}; call openai(...) again for a new one"
            )
        if self._external is not None:
            self._client = self._external
            self._request_headers = dict(self._headers)
            self._request_params = self._query or None
            self._stream_headers = {**self._headers, "Accept": "text/event-stream"}
        else:
            transport = self._transport
            if transport is None and self._limits.max_connections is not None and not _env_proxied():
                transport = ScalingTransport(self._limits)
            self._client = httpx.AsyncClient(
                base_url=self._base_url,
                headers=self._headers,
                params=self._query,
                timeout=self._timeout,
                transport=transport,
                limits=self._limits,
            )
            self._client._cookies = _Cookies()  # httpx reads it back through .cookies
            self._fast = _Prebuilt(self._client, self._stream_headers)
            self._owned = True
        self._state = "open"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (done for you when the ``async with`` block ends)."""
        client, self._client = self._client, None
        self._state = "closed"
        if client is not None and self._owned:
            await client.aclose()

    def _url(self) -> str:
        if self._external is not None:
            return self._base_url.rstrip("/") + "/chat/completions"
        return "chat/completions"

    async def __call__(self, effect: Effect[R], /) -> R:
        if type(effect) is not ModelCall:
            raise UnhandledEffect(
                f"openai() only answers ModelCall, got {type(effect).__name__}; combine it with a tool "
                "interpreter: agent_interpreter(agent, model=<this>) or by_type({ModelCall: ..., ...})"
            )
        assert isinstance(effect, ModelCall)
        client = self._client
        if client is None:
            raise InterpreterError(
                "this openai() interpreter is not open: use it inside "
                "`async with openai(...) as model:`"
                + (" (it was already closed)" if self._state == "closed" else "")
            )
        streaming = self._stream if self._stream is not None else event_sink() is not None
        if streaming:
            return cast("R", await self._streamed(client, effect))
        return cast("R", await self._plain(client, effect))

    def _request(self, client: httpx.AsyncClient, body: dict[str, Any], streaming: bool) -> httpx.Request:
        """``client.build_request("POST", ...)``; for our own client (cookie-less) from the parts it merges."""
        fast = self._fast
        if fast is not None and not client.cookies:
            return fast.request(body, streaming)
        headers = self._stream_headers if streaming else self._request_headers
        return client.build_request(
            "POST", self._url(), json=body, headers=headers, params=self._request_params
        )

    async def _plain(self, client: httpx.AsyncClient, call: ModelCall) -> ModelReply:
        request = self._request(client, to_openai_request(call, dialect=self._dialect), False)
        try:
            # What client.post does, in two steps: a body that breaks off after the
            # headers came is a cut reply (retried like a cut stream), not a connect failure.
            response = await client.send(request, stream=True)
            try:
                content = await response.aread()
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                await response.aclose()
                if not 200 <= response.status_code < 300:
                    raise self._status_error(response, call, b"") from exc
                announced = response.headers.get("content-length")
                of = f" of the {announced} its Content-Length announced" if announced else ""
                raise StreamInterrupted(
                    f"the reply body was cut after {response.num_bytes_downloaded} bytes{of} "
                    f"({type(exc).__name__}: {exc}); the model call failed and may be retried",
                    retryable=True,
                ) from exc
            except BaseException:
                await response.aclose()
                raise
        except httpx.TimeoutException as exc:
            raise _timeout_error(exc, self._timeout, self._base_url, False) from exc
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from exc
        if not 200 <= response.status_code < 300:
            raise self._status_error(response, call)
        return from_openai_response(content)

    async def _streamed(self, client: httpx.AsyncClient, call: ModelCall) -> ModelReply:
        sink = event_sink()
        decoder = OpenAIStream(step=sink.step if sink is not None else 1)
        request = self._request(client, to_openai_request(call, stream=True, dialect=self._dialect), True)
        started = False
        try:
            response = await client.send(request, stream=True)  # what client.stream(...) does
            try:
                if not 200 <= response.status_code < 300:
                    try:
                        content = await response.aread()
                    except (httpx.RemoteProtocolError, httpx.ReadError):
                        content = b""  # the status says what failed; the cut body adds nothing
                    raise self._status_error(response, call, content)
                if "json" in response.headers.get("content-type", ""):
                    # A JSON error object instead of a stream is the error it would be in one
                    # (a completion instead is still "not a stream", below).
                    from_openai_response(await response.aread())
                started = True
                # Strict UTF-8: a bad byte is MalformedResponse, never U+FFFD in the arguments.
                sse_events = strict_sse(response)
                finished = False
                try:
                    # Read to the end even after [DONE], so the connection goes back to the pool.
                    async for sse in sse_events:
                        events = decoder.feed(sse.data, event=None if sse.event == "message" else sse.event)
                        if sink is not None:
                            for event in events:
                                await sink.emit(event)
                    finished = True
                finally:
                    if not finished:
                        await _abandon(response, sse_events)
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise _timeout_error(exc, self._timeout, self._base_url, started) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            if started and not decoder.done:
                raise StreamInterrupted(
                    f"the connection broke in the middle of the stream after {decoder.chunks} chunk(s) "
                    f"({type(exc).__name__}: {exc}); the reply is incomplete and may be retried",
                    retryable=True,
                ) from exc
            if not started:
                raise self._connection_error(exc) from exc
        except SSEError as exc:  # (a TransportError subclass, so first)
            raise MalformedResponse(
                f"asked for a stream but the server did not send one ({exc}); check that base_url "
                "points at an OpenAI-compatible API that supports stream=true"
            ) from exc
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from exc
        return decoder.reply()

    def _status_error(
        self, response: httpx.Response, call: ModelCall, content: bytes | None = None
    ) -> Exception:
        return from_openai_error(
            response.status_code,
            response.headers,
            response.content if content is None else content,
            model=call.model,
            base_url=self._base_url,
            now=time.time(),
            redact=self._secrets,
        )

    def _connection_error(self, exc: httpx.TransportError) -> Exception:
        return ProviderConnectionError(
            f"could not talk to the model server at {self._base_url} ({type(exc).__name__}: {exc}); "
            "check that it is running and that base_url is right",
            retryable=True,
        )

    def __repr__(self) -> str:
        key = "<set>" if self._has_key else "None"
        return f"openai(base_url={self._base_url!r}, api_key={key}, stream={self._stream!r}, state={self._state!r})"


def openai(
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    organization: str | None = None,
    project: str | None = None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    stream: bool | None = None,
    limits: httpx.Limits | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    http_client: httpx.AsyncClient | None = None,
    dialect: str | Dialect | None = None,
) -> _OpenAI:
    """An interpreter for ``ModelCall`` that talks to an OpenAI-compatible API.

    Open it with ``async with openai(...) as model:``; it owns one
    ``httpx.AsyncClient`` for the block, so calls reuse connections.

    Args:
        api_key: sent as ``Authorization: Bearer ...``; default ``OPENAI_API_KEY``.
            Required for api.openai.com; local servers usually need none.
        base_url: the API root, e.g. ``"http://127.0.0.1:8000/v1"``; default
            ``OPENAI_BASE_URL`` or ``https://api.openai.com/v1``. A
            ``user:password@`` in it is taken out of the URL and sent as an
            ``Authorization: Basic`` header instead (replacing the Bearer
            ``api_key``, as httpx would), so it never shows in ``repr()``,
            errors or httpx's request log.
        organization: ``OpenAI-Organization`` header; default ``OPENAI_ORG_ID``.
        project: ``OpenAI-Project`` header; default ``OPENAI_PROJECT_ID``.
        headers: extra headers on every request (e.g. Azure's ``api-key``);
            they win over the ones above.
        query: query parameters on every request (e.g. Azure's ``api-version``).
        timeout: seconds, or an ``httpx.Timeout``; default 600 s, 5 s to connect.
        stream: ``None`` (default) streams exactly when ``stream`` is
            listening; ``True`` always streams, ``False`` never does. Either
            way the interpreter returns the same whole ``ModelReply``.
        limits: the connection pool's ``httpx.Limits``; default `DEFAULT_LIMITS`
            (256 calls in flight, each on a kept-alive connection; more wait
            their turn, first come first served). ``max_connections=None``
            lifts the limit and uses httpx's plain transport.
        transport: an ``httpx`` transport to send requests through (instead
            of ours, which keeps the cost per call flat however many calls
            are in flight and retries failed connection attempts). With a
            proxy in the environment (``HTTP_PROXY``, ``HTTPS_PROXY``,
            ``ALL_PROXY``) the default is httpx's own transport, so the proxy
            and ``NO_PROXY`` apply exactly as httpx applies them.
        http_client: a client of your own to use (and not close) instead.
        dialect: the provider's name (``"deepseek"``, ``"gemini"``, ...; see
            ``tower_llm_fx.openai.DIALECTS``) or a ``Dialect``: each request
            sends back the reasoning that provider needs and no other, and
            asks for stream usage only where the provider wants to be asked.
            ``None`` (default) sends every message as it is.

    Raises:
        ConfigurationError: no API key for api.openai.com, or a bad argument.

    Errors while calling are ``ProviderError`` subclasses: ``BadRequestError``,
    ``AuthenticationError``, ``NotFoundError``, ``RateLimitError``,
    ``ServerError``, ``ProviderTimeoutError``, ``ProviderConnectionError``,
    ``StreamInterrupted``, ``MalformedResponse``.

    >>> model = openai(base_url="http://127.0.0.1:8000/v1", api_key="sk-secret")
    >>> model
    openai(base_url='http://127.0.0.1:8000/v1', api_key=<set>, stream=None, state='new')
    """
    env = os.environ
    api_key = api_key if api_key is not None else env.get("OPENAI_API_KEY")
    api_key = api_key or None
    base_url = base_url or env.get("OPENAI_BASE_URL") or OPENAI_BASE_URL
    organization = organization if organization is not None else env.get("OPENAI_ORG_ID")
    project = project if project is not None else env.get("OPENAI_PROJECT_ID")
    if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"base_url must be an http(s) URL such as 'http://127.0.0.1:8000/v1', got {base_url!r}"
        )
    base_url, basic = _split_userinfo(base_url)
    extra = dict(headers or {})
    sends_credentials = (
        api_key is not None
        or basic is not None
        or any(any(word in name.lower() for word in _SENSITIVE) for name in extra)
    )
    if base_url.rstrip("/") == OPENAI_BASE_URL and not sends_credentials:
        raise ConfigurationError(
            "no API key for api.openai.com: pass openai(api_key=...) or set OPENAI_API_KEY; "
            "for a local OpenAI-compatible server pass base_url='http://127.0.0.1:<port>/v1'"
        )
    if limits is not None and not isinstance(limits, httpx.Limits):
        raise ConfigurationError(f"limits must be an httpx.Limits, got {limits!r}")
    if limits is not None and limits.max_connections is not None and limits.max_connections < 1:
        raise ConfigurationError(
            f"limits.max_connections must be at least 1 (or None for no limit), got {limits.max_connections}"
        )
    if dialect is not None and not isinstance(dialect, (str, Dialect)):
        raise ConfigurationError(f"dialect must be a provider's name or a Dialect, got {dialect!r}")
    if stream is not None and not isinstance(stream, bool):
        raise ConfigurationError(f"stream must be True, False or None (automatic), got {stream!r}")
    all_headers: dict[str, str] = {
        "Accept": "application/json",
        "User-Agent": f"tower-llm-fx/{__version__}",
    }
    if api_key is not None:
        all_headers["Authorization"] = f"Bearer {api_key}"
    if organization:
        all_headers["OpenAI-Organization"] = organization
    if project:
        all_headers["OpenAI-Project"] = project
    if basic is not None:  # as httpx does with userinfo in a URL: Basic wins over the Bearer key
        all_headers["Authorization"] = basic
    all_headers.update(extra)
    secrets = tuple(
        value
        for name, value in all_headers.items()
        if any(word in name.lower() for word in _SENSITIVE) and value
    )
    if api_key is not None:
        secrets = (api_key, *secrets)
    return _OpenAI(
        base_url=base_url,
        headers=all_headers,
        secrets=secrets,
        has_key=sends_credentials,
        query=query or {},
        timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
        stream=stream,
        transport=transport,
        limits=limits if limits is not None else DEFAULT_LIMITS,
        http_client=http_client,
        dialect=get_dialect(dialect) if isinstance(dialect, str) else dialect,
    )
