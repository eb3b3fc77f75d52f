"""Trace stores: memory, a directory of JSON Lines files, and SQLite, against real files in tmp_path.

The contract runs on all three stores; what is particular to SQLite is in ``test_trace_sqlite.py``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import attrs
import pytest

import tower_llm_fx as fx
import tower_llm_fx.trace
from interpreters.stores import (
    DirectoryTraceStore,
    MemoryTraceStore,
    SqliteTraceStore,
    TraceStore,
    read_trace,
    save_trace,
    write_trace,
)

from ._trace_data import CODEC, EXCHANGES, FINAL, META, OWN, V1_TEXT, StoreTestTicket

pytestmark = pytest.mark.anyio


StoreFactory = Callable[[Path], TraceStore]
FACTORIES: dict[str, StoreFactory] = {
    "memory": lambda tmp: MemoryTraceStore(),
    "directory": lambda tmp: DirectoryTraceStore(tmp / "traces"),
    "sqlite": lambda tmp: SqliteTraceStore(tmp / "traces.db"),
}


@pytest.fixture(params=sorted(FACTORIES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> TraceStore:
    factory: StoreFactory = FACTORIES[request.param]
    return factory(tmp_path)


async def test_begin_append_load(store: TraceStore) -> None:
    await store.begin("run-1", META)
    assert await store.load("run-1") == fx.trace.Trace(meta=META)
    for i, ex in enumerate(EXCHANGES):
        await store.append("run-1", i, ex)
    assert await store.load("run-1") == fx.trace.Trace(meta=META, exchanges=EXCHANGES)


async def test_list_and_delete(store: TraceStore) -> None:
    assert await store.list() == ()
    for trace_id in ("b", "a", "c.1"):
        await save_trace(store, trace_id, fx.trace.Trace(meta=META, exchanges=EXCHANGES[:1]))
    assert await store.list() == ("a", "b", "c.1")
    await store.delete("b")
    assert await store.list() == ("a", "c.1")
    with pytest.raises(fx.trace.TraceNotFound, match=r"no trace 'b' in .*it holds 2 trace\(s\): 'a', 'c.1'"):
        await store.load("b")
    with pytest.raises(fx.trace.TraceNotFound):
        await store.delete("b")
    assert (await store.load("a")).exchanges == EXCHANGES[:1]


async def test_a_trace_is_never_overwritten(store: TraceStore) -> None:
    await save_trace(store, "t", fx.trace.Trace(meta=META, exchanges=EXCHANGES))
    with pytest.raises(fx.trace.TraceExists, match=r"already exists .* never overwritten"):
        await store.begin("t", fx.trace.TraceMeta())
    assert await store.load("t") == fx.trace.Trace(meta=META, exchanges=EXCHANGES)


async def test_appends_must_follow_a_begin_and_come_in_order(store: TraceStore) -> None:
    with pytest.raises(fx.trace.TraceNotFound, match="begin"):
        await store.append("nope", 0, EXCHANGES[0])
    if isinstance(store, DirectoryTraceStore):
        return  # a file does not know its own length without reading it; decoding checks the order
    await store.begin("t", META)
    await store.append("t", 0, EXCHANGES[0])
    with pytest.raises(fx.trace.TraceStoreError, match="in order"):
        await store.append("t", 0, EXCHANGES[1])


@pytest.mark.parametrize("bad", ["../escape", "a/b", "..", ".x", ""])
async def test_unsafe_ids_touch_nothing(store: TraceStore, bad: str, tmp_path: Path) -> None:
    with pytest.raises(fx.ConfigurationError, match="is not allowed"):
        await store.begin(bad, META)
    assert not (tmp_path / "escape.jsonl").exists()
    assert not (tmp_path / "traces" / "a").exists()


async def test_missing_traces_are_not_found(store: TraceStore) -> None:
    with pytest.raises(fx.trace.TraceNotFound, match="it holds 0 trace"):
        await store.load("ghost")
    with pytest.raises(LookupError):
        await store.load("ghost")


async def test_the_directory_store_writes_one_jsonl_file_per_trace(tmp_path: Path) -> None:
    store = DirectoryTraceStore(tmp_path / "a" / "b")
    await save_trace(store, "run", fx.trace.Trace(meta=META, exchanges=EXCHANGES))
    path = store.path_of("run")
    assert path == tmp_path / "a" / "b" / "run.jsonl"
    text = path.read_text(encoding="utf-8")
    assert text == fx.trace.encode_trace(fx.trace.Trace(meta=META, exchanges=EXCHANGES))
    assert read_trace(path) == fx.trace.Trace(meta=META, exchanges=EXCHANGES)
    (tmp_path / "a" / "b" / "notes.txt").write_text("not a trace")
    (tmp_path / "a" / "b" / "..bad.jsonl").write_text("")
    assert await store.list() == ("run",)
    assert repr(store) == f"DirectoryTraceStore({str(tmp_path / 'a' / 'b')!r})"


async def test_a_fresh_store_instance_appends_in_full_form(tmp_path: Path) -> None:
    first = DirectoryTraceStore(tmp_path)
    await first.begin("t", META)
    await first.append("t", 0, EXCHANGES[0])
    second = DirectoryTraceStore(tmp_path, fsync=True)  # e.g. another process
    await second.append("t", 1, EXCHANGES[1])
    await second.append("t", 2, EXCHANGES[2])
    assert await first.load("t") == fx.trace.Trace(meta=META, exchanges=EXCHANGES)


async def test_a_torn_file_names_itself_and_the_line(tmp_path: Path) -> None:
    store = DirectoryTraceStore(tmp_path)
    await save_trace(store, "t", fx.trace.Trace(meta=META, exchanges=EXCHANGES))
    path = store.path_of("t")
    with path.open("ab") as f:
        f.write(b'{"i": 3, "effect": {"type": "ToolC')
    with pytest.raises(
        fx.trace.TraceDecodeError, match=r"t\.jsonl, line 5: the file ends in the middle of exchange 3"
    ):
        await store.load("t")
    assert (await store.load("t", allow_truncated=True)).exchanges == EXCHANGES


async def test_a_corrupted_line_is_reported_with_the_file(tmp_path: Path) -> None:
    store = DirectoryTraceStore(tmp_path)
    await save_trace(store, "t", fx.trace.Trace(meta=META, exchanges=EXCHANGES))
    path = store.path_of("t")
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = lines[2].replace('"name":"add"', '"name":7', 1)
    path.write_text("".join(lines))
    with pytest.raises(fx.trace.TraceDecodeError) as info:
        await store.load("t")
    assert info.value.line == 3
    assert info.value.field == "effect"
    assert str(path) in str(info.value)


def test_read_trace_reports_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(fx.trace.encode_header(META).encode() + b'{"i": 0, \xff}\n')
    with pytest.raises(fx.trace.TraceDecodeError, match=r"line 2: not UTF-8"):
        read_trace(path)
    with pytest.raises(FileNotFoundError):
        read_trace(tmp_path / "missing.jsonl")


async def test_a_leading_utf8_bom_is_ignored(tmp_path: Path) -> None:
    # As some editors on Windows save UTF-8 files.
    whole = fx.trace.Trace(meta=META, exchanges=EXCHANGES)
    path = tmp_path / "t.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + fx.trace.encode_trace(whole).encode())
    assert read_trace(path) == whole
    assert await DirectoryTraceStore(tmp_path).load("t") == whole
    path.write_bytes(b"\xef\xbb\xbf" + fx.trace.encode_trace(whole).encode()[:-20])
    with pytest.raises(fx.trace.TraceDecodeError, match=r"line 4: the file ends in the middle"):
        read_trace(path)  # line numbers are the file's


def test_write_trace_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    write_trace(path, fx.trace.Trace(meta=META, exchanges=EXCHANGES))
    write_trace(path, fx.trace.Trace(meta=META))
    assert read_trace(path) == fx.trace.Trace(meta=META)
    assert os.listdir(tmp_path) == ["t.jsonl"]


async def test_memory_store_repr_and_isolation() -> None:
    store = MemoryTraceStore()
    await save_trace(store, "t", fx.trace.Trace(meta=META, exchanges=EXCHANGES))
    loaded = await store.load("t")
    await store.append("t", 3, EXCHANGES[0])
    assert loaded.exchanges == EXCHANGES, "a loaded trace is a value: later appends do not change it"
    assert repr(store) == "MemoryTraceStore(<1 traces>)"


async def test_every_store_hands_back_scrubbed_traces(store: TraceStore) -> None:
    key = "sk-abcdefghijklmnopqrstuvwxyz012345"
    call = fx.ModelCall(
        model="m", messages=(fx.user(f"my key is {key}"),), params=fx.ModelParams(extra={"api_key": key})
    )
    await save_trace(
        store, "s", fx.trace.Trace(meta=META, exchanges=(fx.trace.Exchange(effect=call, result=FINAL),))
    )
    loaded = await store.load("s")
    assert key not in repr(loaded)
    effect = loaded.exchanges[0].effect
    assert isinstance(effect, fx.ModelCall)
    assert effect.messages[0].content == "my key is [REDACTED]"


# -- codecs and format versions ---------------------------------------------------------

CODEC_FACTORIES: dict[str, StoreFactory] = {
    "memory": lambda tmp: MemoryTraceStore(codec=CODEC),
    "directory": lambda tmp: DirectoryTraceStore(tmp / "traces", codec=CODEC),
    "sqlite": lambda tmp: SqliteTraceStore(tmp / "traces.db", codec=CODEC),
}


@pytest.mark.parametrize("kind", sorted(CODEC_FACTORIES))
async def test_a_store_given_a_codec_keeps_values_of_our_own_types(kind: str, tmp_path: Path) -> None:
    store = CODEC_FACTORIES[kind](tmp_path)
    key = "sk-abcdefghijklmnopqrstuvwxyz012345"
    secret = fx.trace.Exchange(effect=OWN.effect, result=StoreTestTicket(id=7, note=f"key {key}"))
    trace = fx.trace.Trace(meta=META, exchanges=(*EXCHANGES, OWN, secret))
    await save_trace(store, "own", trace)
    loaded = await store.load("own")
    assert loaded.exchanges[:-1] == trace.exchanges[:-1]
    assert loaded.exchanges[-1].result == StoreTestTicket(id=7, note="key [REDACTED]")
    assert loaded.meta == META


@pytest.mark.parametrize("kind", ["directory", "sqlite"])
async def test_without_its_codec_a_store_refuses_types_of_our_own(kind: str, tmp_path: Path) -> None:
    store = FACTORIES[kind](tmp_path)
    await store.begin("own", META)
    with pytest.raises(TypeError, match="'FetchTicket' is not in this codec"):
        await store.append("own", 0, OWN)
    await save_trace(CODEC_FACTORIES[kind](tmp_path), "own2", fx.trace.Trace(meta=META, exchanges=(OWN,)))
    with pytest.raises(
        fx.trace.TraceDecodeError, match=re.escape("unknown type 'test.fetch_ticket'")
    ) as info:
        await store.load("own2")
    assert (info.value.line, info.value.field) == (2, "effect")


def test_read_and_write_trace_take_a_codec(tmp_path: Path) -> None:
    path = tmp_path / "own.jsonl"
    trace = fx.trace.Trace(meta=META, exchanges=(OWN,))
    write_trace(path, trace, codec=CODEC)
    assert read_trace(path, codec=CODEC) == trace
    with pytest.raises(fx.trace.TraceDecodeError, match=re.escape(str(path))):
        read_trace(path)


async def test_a_v1_file_loads_and_a_copy_of_it_is_written_as_v2(tmp_path: Path) -> None:
    store = DirectoryTraceStore(tmp_path)
    store.path_of("old").write_text(V1_TEXT, encoding="utf-8")
    old = await store.load("old")
    assert old.exchanges == EXCHANGES
    assert old.meta == attrs.evolve(META, format_version=1, library_version="0.1.0")
    assert read_trace(store.path_of("old")) == old
    await save_trace(store, "copy", old)
    header = store.path_of("copy").read_text(encoding="utf-8").split("\n", 1)[0]
    assert '"version":2' in header
    copy = await store.load("copy")
    assert copy.exchanges == EXCHANGES
    assert copy.meta.format_version == 2
