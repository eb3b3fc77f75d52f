"""`ScalingTransport`: httpx's transport, kept cheap per call with hundreds of calls in flight.

Theory of operation: httpcore's connection pool does work proportional to
(queued requests x connections) on every request and every response, and it
closes an idle connection whenever the pool holds more connections than its
keep-alive limit (so a burst above the limit reconnects on the next burst). A
single pool with hundreds of calls in flight therefore spends more CPU per call
the more calls there are, and churns connections. This transport is httpx's own
``AsyncHTTPTransport`` (the same request conversion and exception mapping) over
a pool of its own, `_Pool`, whose cost per call is flat: it queues calls, first
come first served, once ``max_connections`` are in flight (so the server's
listen backlog is never overrun), then takes the most recently used idle
connection to the request's origin (a lone caller reuses one connection) or
opens one. The connections are httpcore's (``AsyncHTTPConnection``: HTTP/1.1
through h11, TLS, a stale connection noticed before it is reused, a failed
connection attempt retried since nothing was sent yet), every one kept alive
up to the keep-alive limit. Their sockets buffer what a request writes until
it reads the response (`_Coalesced`), so a request leaves in one send, not one
for the headers and one for the body. It runs on trio and asyncio.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from typing import Any, final

import anyio
import httpcore
import httpx
import sniffio

__all__ = ["DEFAULT_LIMITS", "ScalingTransport"]

DEFAULT_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=256, keepalive_expiry=30.0)
"""Up to 256 requests in flight on as many kept-alive connections; more calls wait their turn.

Agent workloads hold a connection for the whole reply (seconds, for a model), so
connections, not CPU, bound how many calls run at once; every connection is
kept alive (closing idle ones beyond a smaller keep-alive limit only makes the
next call reconnect). 256 stays well below a server's listen backlog.
"""

_CONNECT_RETRIES = (
    2  # a failed connection attempt is tried again at once, then after 0.5 s (nothing was sent yet)
)
_BUFFER = 65536  # request bytes held back at most before they are sent without waiting for a read


@final
class _Coalesced(httpcore.AsyncNetworkStream):
    """A connection's stream that sends what was written just before it reads (or past `_BUFFER`).

    httpcore writes a request's headers, its body and its end as separate
    writes, each a system call (and a packet the server reads on its own).
    Holding them until the response is read sends the request in one. A write
    error while sending is suppressed, as httpcore does for one while writing a
    request: the server may have answered early, and the read tells.
    """

    __slots__ = ("_pending", "_size", "_stream", "_timeout")

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._pending: list[bytes] = []
        self._size = 0
        self._timeout: float | None = None

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        if self._pending:
            with contextlib.suppress(httpcore.WriteError):
                await self._flush()
        return await self._stream.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if buffer:
            self._pending.append(buffer)
            self._size += len(buffer)
            self._timeout = timeout
            if self._size > _BUFFER:
                await self._flush()

    async def _flush(self) -> None:
        pending = self._pending
        data = pending[0] if len(pending) == 1 else b"".join(pending)
        self._pending = []
        self._size = 0
        await self._stream.write(data, self._timeout)

    async def aclose(self) -> None:
        self._pending = []
        self._size = 0
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: Any,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
    ) -> httpcore.AsyncNetworkStream:
        if self._pending:
            await self._flush()
        return _Coalesced(await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


@final
class _Backend(httpcore.AsyncNetworkBackend):
    """httpcore's own network backend for the running library (trio, else anyio), streams in `_Coalesced`."""

    __slots__ = ("_anyio", "_trio")

    def __init__(self) -> None:
        self._trio = httpcore.TrioBackend()
        self._anyio = httpcore.AnyIOBackend()

    def _backend(self) -> httpcore.AsyncNetworkBackend:
        return self._trio if sniffio.current_async_library() == "trio" else self._anyio

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend().connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _Coalesced(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend().sleep(seconds)


@final
class _Returned:
    """A response body that gives its connection and its slot back to the pool when it is closed."""

    __slots__ = ("_connection", "_origin", "_pool", "_stream")

    def __init__(
        self, stream: Any, pool: _Pool, connection: httpcore.AsyncHTTPConnection, origin: httpcore.Origin
    ) -> None:
        self._stream = stream
        self._pool: _Pool | None = pool
        self._connection = connection
        self._origin = origin

    def __aiter__(self) -> AsyncIterator[bytes]:
        iterator: AsyncIterator[bytes] = self._stream.__aiter__()
        return iterator  # no generator of ours in the chain (see _openai._abandon)

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            with anyio.CancelScope(shield=True):
                await self._stream.aclose()  # the connection is idle again, or closed
        finally:
            await pool.check_in(self._connection, self._origin)


class _Pool(httpcore.AsyncConnectionPool):
    """First come first served below ``max_connections``; most recently used idle connection first.

    Every call in flight holds one slot and one connection, so when a call gets
    its slot there is an idle connection to its origin, or room for one more
    (after closing an idle connection to another origin, if need be).
    """

    def __init__(self, limits: httpx.Limits, ssl_context: Any) -> None:
        total = limits.max_connections
        assert total is not None  # openai() checked it is a positive int
        super().__init__(ssl_context=ssl_context, max_connections=total, retries=_CONNECT_RETRIES)
        self._total = total
        keepalive = limits.max_keepalive_connections
        self._keepalive = total if keepalive is None else keepalive
        self._expiry = limits.keepalive_expiry
        self._context = ssl_context
        self._backend = _Backend()
        self._slots = anyio.Semaphore(total)
        self._idle: dict[tuple[bytes, bytes, int], list[httpcore.AsyncHTTPConnection]] = {}
        self._idle_count = 0
        self._open: set[httpcore.AsyncHTTPConnection] = set()  # idle, busy or connecting

    @property
    def connections(self) -> list[httpcore.AsyncConnectionInterface]:
        return list(self._open)

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        await self._slots.acquire()
        try:
            origin = request.url.origin
            connection = await self._check_out(origin)
        except BaseException:
            self._slots.release()
            raise
        try:
            response = await connection.handle_async_request(request)
        except BaseException:
            await self.check_in(connection, origin)  # httpcore left it idle, or closed it
            raise
        response.stream = _Returned(response.stream, self, connection, origin)
        return response

    async def _check_out(self, origin: httpcore.Origin) -> httpcore.AsyncHTTPConnection:
        idle = self._idle.get((origin.scheme, origin.host, origin.port))
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            if not connection.has_expired() and connection.is_idle():
                return connection
            await self._close(connection)  # the server closed it, or it idled past keepalive_expiry
        if len(self._open) >= self._total:  # every other connection is idle: close one of those
            others = next(conns for conns in self._idle.values() if conns)
            self._idle_count -= 1
            await self._close(others.pop(0))
        connection = httpcore.AsyncHTTPConnection(
            origin=origin,
            ssl_context=self._context,
            keepalive_expiry=self._expiry,
            retries=_CONNECT_RETRIES,
            network_backend=self._backend,
        )
        self._open.add(connection)
        return connection

    async def check_in(self, connection: httpcore.AsyncHTTPConnection, origin: httpcore.Origin) -> None:
        """Take a connection back after its call (then the call's slot)."""
        try:
            if connection.is_idle() and not connection.is_closed():
                if self._idle_count < self._keepalive:
                    key = (origin.scheme, origin.host, origin.port)
                    self._idle.setdefault(key, []).append(connection)
                    self._idle_count += 1
                    return
                await self._close(connection)
            else:
                self._open.discard(connection)
        finally:
            self._slots.release()

    async def _close(self, connection: httpcore.AsyncHTTPConnection) -> None:
        self._open.discard(connection)
        with anyio.CancelScope(shield=True):
            await connection.aclose()

    async def aclose(self) -> None:
        connections, self._open = list(self._open), set()
        self._idle.clear()
        self._idle_count = 0
        with anyio.CancelScope(shield=True):
            for connection in connections:
                await connection.aclose()


@final
class ScalingTransport(httpx.AsyncHTTPTransport):
    """An ``httpx.AsyncHTTPTransport`` whose cost per call does not grow with the calls in flight.

    ``openai()`` uses it unless given ``transport=``, ``http_client=`` or
    ``limits.max_connections=None`` (see the module docstring for why and how):

    >>> import httpx
    >>> client = httpx.AsyncClient(transport=ScalingTransport(DEFAULT_LIMITS))
    """

    def __init__(self, limits: httpx.Limits) -> None:
        ssl_context = httpx.create_ssl_context()
        super().__init__(verify=ssl_context, limits=limits, retries=_CONNECT_RETRIES)
        self._pool = _Pool(limits, ssl_context)
