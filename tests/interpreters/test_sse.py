"""interpreters._sse: server-sent events from bytes, strict UTF-8, however the bytes are split.

The reference is httpx-sse's own decoding of the whole text at once; `StrictSSE`
must agree with it for every way the network splits the bytes, and must refuse
invalid UTF-8 (naming the event and the byte offset) instead of writing U+FFFD.
The shell side (a real server, the ``openai`` interpreter) is in
``test_openai_faults.py``.
"""

from __future__ import annotations

import gzip
import itertools
from collections.abc import AsyncIterator

import httpx
import pytest
from httpx_sse import ServerSentEvent
from httpx_sse._decoders import SSEDecoder, SSELineDecoder
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from interpreters._sse import StrictSSE, strict_sse


def reference(text: str, *, end: bool = True) -> list[ServerSentEvent]:
    """httpx-sse's events for ``text`` read at once (``end``: and the body ends there)."""
    lines, decoder = SSELineDecoder(), SSEDecoder()
    out = []
    for line in [*(lines.decode(text) if text else []), *(lines.flush() if end else [])]:
        sse = decoder.decode(line.rstrip("\n"))
        if sse is not None:
            out.append(sse)
    return out


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def fields(events: list[ServerSentEvent]) -> list[tuple[str, str, str, int | None]]:
    return [(e.event, e.data, e.id, e.retry) for e in events]


def feed_all(pieces: list[bytes]) -> list[tuple[str, str, str, int | None]]:
    sse = StrictSSE()
    events = [e for piece in pieces for e in sse.feed(piece)]
    return fields(events + sse.close())


values = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)
lines = st.one_of(
    values.map(lambda v: f"data: {v}"),
    values.map(lambda v: f"data:{v}"),
    st.sampled_from(["event: error", "id: 7", "retry: 100", ": a comment", "", "data: [DONE]"]),
)
newlines = st.sampled_from(["\n", "\r\n", "\r"])
streams = st.lists(st.tuples(lines, newlines), max_size=12).map(lambda ls: "".join(a + b for a, b in ls))


def test_events_and_a_character_split_across_reads() -> None:
    sse = StrictSSE()
    assert sse.feed(b'data: {"t": "caf\xc3') == []
    assert [e.data for e in sse.feed(b'\xa9"}\n\ndata: [DONE]\n\n')] == ['{"t": "café"}', "[DONE]"]
    assert sse.close() == []


def test_an_event_type_and_multi_line_data() -> None:
    assert feed_all([b"event: error\ndata: a\ndata: b\n\n"]) == [("error", "a\nb", "", None)]


def test_a_character_cut_by_the_end_of_the_body_is_dropped() -> None:
    sse = StrictSSE()
    assert fields(sse.feed(b"data: a\n\ndata: \xe2\x98")) == [("message", "a", "", None)]
    assert sse.close() == []  # the last event never ended: the caller sees no [DONE]


@given(streams, st.lists(st.integers(0, 10_000), max_size=6))
def test_any_split_of_the_bytes_gives_httpx_sses_events(text: str, cuts: list[int]) -> None:
    assert feed_all(split(text.encode(), cuts)) == fields(reference(text))


@given(streams, st.data())
def test_an_invalid_byte_anywhere_is_malformed_with_its_offset(text: str, data: st.DataObject) -> None:
    raw = text.encode()
    where = data.draw(st.integers(0, len(raw)))
    while where < len(raw) and 0x80 <= raw[where] < 0xC0:  # not inside a character
        where += 1
    bad = data.draw(st.sampled_from([b"\xff", b"\xc3(", b"\xed\xa0\x80"]))  # 0xff, a broken pair, a surrogate
    body = raw[:where] + bad + raw[where:]
    cuts = data.draw(st.lists(st.integers(0, 10_000), max_size=6))
    with pytest.raises(fx.MalformedResponse, match="is not valid UTF-8") as info:
        feed_all(split(body, cuts))
    assert f"at offset {where} of the body" in str(info.value)
    # The events before the bad byte completed; the bad byte is in the next one.
    number = len(reference(raw[:where].decode(), end=False)) + 1
    assert f"stream chunk #{number} is not valid UTF-8" in str(info.value)


class _Chunks(httpx.AsyncByteStream):
    """A response body that arrives in the given pieces (as off a socket)."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self.pieces:
            yield piece


_BODY = 'data: {"a": "é"}\n\ndata: [DONE]\n\n'


@pytest.mark.anyio
@pytest.mark.parametrize("form", ["streamed", "already read", "gzip"])
async def test_strict_sse_reads_streamed_pre_read_and_compressed_bodies(form: str) -> None:
    # Without Content-Encoding a streamed body is read raw (no decoding layer); a body that was
    # read already (httpx.MockTransport's replies) and a compressed one come through aiter_bytes.
    headers = {"content-type": "text/event-stream"}
    raw = _BODY.encode()
    if form == "already read":
        response = httpx.Response(200, headers=headers, content=raw)
        assert response.is_stream_consumed
    elif form == "gzip":
        packed = gzip.compress(raw)
        response = httpx.Response(
            200, headers={**headers, "content-encoding": "gzip"}, stream=_Chunks([packed[:7], packed[7:]])
        )
    else:
        response = httpx.Response(200, headers=headers, stream=_Chunks([raw[:9], raw[9:]]))
    events = [(e.event, e.data) async for e in strict_sse(response)]
    assert events == [("message", '{"a": "é"}'), ("message", "[DONE]")]
