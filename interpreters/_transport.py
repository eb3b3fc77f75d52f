"""`ScalingTransport`: httpx's transport, kept cheap per call with hundreds of calls in flight.

Theory of operation: httpcore's connection pool does work proportional to
(queued requests x connections) on every request and every response, and it
closes an idle connection whenever the pool holds more connections than its
keep-alive limit (so a burst above the limit reconnects on the next burst). A
single pool with hundreds of calls in flight therefore spends more CPU per call
the more calls there are, and churns connections. This transport keeps both
flat: it queues calls itself, first come first served, once ``max_connections``
are in flight (so the pools never queue, and the server's listen backlog is
never overrun), keeps every connection alive, and spreads calls over small
httpcore pools of ``_SHARD`` connections, filling them in order (a lone caller
reuses one connection). A failed connection attempt is retried by httpcore
(nothing was sent yet). It runs on trio and asyncio (anyio's semaphore).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import final

import anyio
import httpx

__all__ = ["DEFAULT_LIMITS", "ScalingTransport"]

DEFAULT_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=256, keepalive_expiry=30.0)
"""Up to 256 requests in flight on as many kept-alive connections; more calls wait their turn.

Agent workloads hold a connection for the whole reply (seconds, for a model), so
connections, not CPU, bound how many calls run at once; every connection is
kept alive (closing idle ones beyond a smaller keep-alive limit only makes the
next call reconnect). 256 stays well below a server's listen backlog.
"""

_SHARD = 4  # connections per httpcore pool inside ScalingTransport
_CONNECT_RETRIES = (
    2  # a failed connection attempt is tried again at once, then after 0.5 s (nothing was sent yet)
)


@final
class _Release(httpx.AsyncByteStream):
    """A response body that gives its transport slot back when it is closed."""

    __slots__ = ("_release", "_stream")

    def __init__(self, stream: httpx.AsyncByteStream, release: Callable[[], None]) -> None:
        self._stream = stream
        self._release: Callable[[], None] | None = release

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()  # no generator of ours in the chain (see _abandon)

    async def aclose(self) -> None:
        release, self._release = self._release, None
        try:
            await self._stream.aclose()
        finally:
            if release is not None:
                release()


@final
class ScalingTransport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncBaseTransport`` whose cost per call does not grow with the calls in flight.

    ``openai()`` uses it unless given ``transport=``, ``http_client=`` or
    ``limits.max_connections=None`` (see the module docstring for why and how):

    >>> import httpx
    >>> client = httpx.AsyncClient(transport=ScalingTransport(DEFAULT_LIMITS))
    """

    def __init__(self, limits: httpx.Limits) -> None:
        total = limits.max_connections
        assert total is not None  # openai() checked it is a positive int
        keepalive = total if limits.max_keepalive_connections is None else limits.max_keepalive_connections
        count = -(-total // _SHARD)
        ssl_context = httpx.create_ssl_context()  # one for all the pools (each would load the CA file)
        self._shards = [
            httpx.AsyncHTTPTransport(
                verify=ssl_context,
                limits=httpx.Limits(
                    max_connections=_SHARD,
                    max_keepalive_connections=min(_SHARD, -(-keepalive // count)),
                    keepalive_expiry=limits.keepalive_expiry,
                ),
                retries=_CONNECT_RETRIES,
            )
            for _ in range(count)
        ]
        self._busy = [0] * count
        self._slots = anyio.Semaphore(total)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self._slots.acquire()
        busy = self._busy
        shard = next(i for i, n in enumerate(busy) if n < _SHARD)  # at most `total` in flight
        busy[shard] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                busy[shard] -= 1
                self._slots.release()

        try:
            response = await self._shards[shard].handle_async_request(request)
        except BaseException:
            release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_Release(response.stream, release),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()
