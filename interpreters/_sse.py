"""Server-sent events read from bytes with strict UTF-8: a bad byte is an error, not U+FFFD.

httpx-sse reads a stream through ``response.aiter_text()``, which decodes with
``errors="replace"``: an invalid byte in a tool call's arguments silently
becomes U+FFFD and the call runs with corrupted arguments. `StrictSSE`
decodes the bytes itself, incrementally and strictly (a character split
across two network reads is fine), and hands the lines to httpx-sse's own
line and event decoders, so everything else parses exactly as before.
`strict_sse` drives it from an ``httpx.Response``.
"""

from __future__ import annotations

import codecs
import contextlib
from collections.abc import AsyncGenerator
from typing import cast, final

import anyio
import httpx
from httpx_sse import ServerSentEvent, SSEError
from httpx_sse._decoders import SSEDecoder, SSELineDecoder

from tower_llm_fx import MalformedResponse

__all__ = ["StrictSSE", "strict_sse"]


@final
class StrictSSE:
    """Bytes in, server-sent events out; invalid UTF-8 raises ``MalformedResponse``.

    >>> sse = StrictSSE()
    >>> [e.data for e in sse.feed(b'data: {"a": "\\xc3')] + [e.data for e in sse.feed(b'\\xa9"}\\n\\n')]
    ['{"a": "é"}']
    >>> sse.feed(b"data: \\xff\\n\\n")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    tower_llm_fx.MalformedResponse: stream chunk #2 is not valid UTF-8 (byte 0xff at offset 25 of the body): ...
    """

    __slots__ = ("_decoder", "_events", "_lines", "_offset", "_utf8")

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._lines = SSELineDecoder()
        self._decoder = SSEDecoder()
        self._offset = 0  # bytes fed so far
        self._events = 0  # events returned so far

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """The events completed by the next bytes of the body.

        Raises:
            MalformedResponse: the bytes are not UTF-8; the message names the
                event (``stream chunk #n``, counting from 1) and the byte offset.
        """
        try:
            text = self._utf8.decode(data)
        except UnicodeDecodeError as exc:
            raise self._invalid(data, exc) from None
        self._offset += len(data)
        return self._decode(text) if text else []

    def close(self) -> list[ServerSentEvent]:
        """The events left when the body ends (a last line without its newline).

        A character cut in two by the end of the body is dropped: the body was
        cut, which the caller notices by the missing ``[DONE]``.
        """
        events = []
        for line in self._lines.flush():
            sse = self._decoder.decode(line.rstrip("\n"))
            if sse is not None:
                events.append(sse)
        self._events += len(events)
        return events

    def _decode(self, text: str) -> list[ServerSentEvent]:
        events = []
        decoder = self._decoder
        for line in self._lines.decode(text):
            sse = decoder.decode(line.rstrip("\n"))
            if sse is not None:
                events.append(sse)
        self._events += len(events)
        return events

    def _invalid(self, data: bytes, exc: UnicodeDecodeError) -> MalformedResponse:
        pending = self._utf8.getstate()[0]  # bytes of a character the previous read left open
        offset = self._offset - len(pending) + exc.start
        # The events before the bad byte complete normally: count them to name the bad one.
        good = (pending + data)[: exc.start].decode("utf-8")
        if good:
            self._decode(good)
        bad = exc.object[exc.start : exc.start + 1].hex()
        return MalformedResponse(
            f"stream chunk #{self._events + 1} is not valid UTF-8 (byte 0x{bad} at offset "
            f"{offset} of the body): the stream is corrupt (a proxy that rewrites responses, or a server "
            "bug); decoding it anyway would put U+FFFD into the reply's text or tool arguments"
        )


async def strict_sse(response: httpx.Response) -> AsyncGenerator[ServerSentEvent, None]:
    """The server-sent events of a streamed response, decoded as strict UTF-8.

    Raises:
        SSEError: the response is not ``text/event-stream`` (as httpx-sse does).
        MalformedResponse: the body is not UTF-8.
    """
    content_type = response.headers.get("content-type", "").partition(";")[0]
    if "text/event-stream" not in content_type:
        raise SSEError(
            f"Expected response header Content-Type to contain 'text/event-stream', got {content_type!r}"
        )
    sse = StrictSSE()
    # Without Content-Encoding the decoded bytes are the raw bytes: skip the decoding layer
    # (unless the body was read already, as a MockTransport reply is: only aiter_bytes serves it).
    raw = "content-encoding" not in response.headers and not response.is_stream_consumed
    chunks = cast("AsyncGenerator[bytes, None]", response.aiter_raw() if raw else response.aiter_bytes())
    try:
        async for data in chunks:
            try:
                events = sse.feed(data)
            except MalformedResponse:
                await _drain(response, chunks)
                raise
            for event in events:
                yield event
        for event in sse.close():
            yield event
    finally:
        await chunks.aclose()


async def _drain(response: httpx.Response, chunks: AsyncGenerator[bytes, None]) -> None:
    """Stop reading half-way without leaving httpx's inner async generators suspended.

    Closing only ``chunks`` leaves the generators it reads from suspended, and
    trio warns about each when it is collected (encode/httpx#3686). Closing the
    response first and pulling once more makes each finish with the read error.
    Shielded and bounded: it only touches a closed connection.
    """
    with anyio.CancelScope(shield=True) as scope:
        scope.deadline = anyio.current_time() + 1.0
        await response.aclose()
        with contextlib.suppress(Exception):
            async for _ in chunks:
                pass
