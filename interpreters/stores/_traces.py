"""Trace stores: where the ``record`` layer writes and the replayer reads traces.

A store holds traces by id. ``record`` calls `TraceStore.begin` once (the
header) and `TraceStore.append` after each exchange completes, so a run that
crashes leaves the exchanges it finished. Traces are never overwritten:
beginning an id that exists raises `TraceExists`.

* `MemoryTraceStore`: a dict in this process (tests, notebooks, benchmarks).
  It keeps the values themselves and scrubs secrets when a trace is loaded.
* `DirectoryTraceStore`: one JSON Lines file per trace, ``<dir>/<id>.jsonl``;
  each append is a single ``O_APPEND`` write done in a worker thread.
* ``SqliteTraceStore`` (in ``_trace_sqlite.py``): one SQLite database.

Callers serialise appends to one trace (the recorder does); stores check the
index of each exchange where they can. Stores that encode take ``codec=`` (a
``tower_llm_fx.serde.Codec``, default the library's ``DEFAULT``): pass one made
with ``DEFAULT.with_types(...)`` to store values of your own types.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, final

import anyio.to_thread

from tower_llm_fx import Effect
from tower_llm_fx.serde import DEFAULT, Codec
from tower_llm_fx.trace import (
    DeltaBase,
    Exchange,
    Trace,
    TraceDecodeError,
    TraceExists,
    TraceMeta,
    TraceNotFound,
    TraceStoreError,
    check_trace_id,
    decode_trace,
    encode_exchange,
    encode_header,
    encode_trace,
    new_exchange,
    next_base,
    scrub_exchanges,
)

__all__ = [
    "DirectoryTraceStore",
    "MemoryTraceStore",
    "TraceStore",
    "read_trace",
    "save_trace",
    "write_trace",
]


class TraceStore(Protocol):
    """What ``record`` writes to and what you load traces from."""

    async def begin(self, trace_id: str, meta: TraceMeta) -> None:
        """Create trace ``trace_id`` with its header; raise `TraceExists` if it exists."""
        ...

    async def append(self, trace_id: str, index: int, exchange: Exchange) -> None:
        """Append exchange number ``index`` (0, 1, 2, … in order) to a begun trace."""
        ...

    async def load(self, trace_id: str, *, allow_truncated: bool = False) -> Trace:
        """The trace with this id; raise `TraceNotFound` if there is none."""
        ...

    async def list(self) -> tuple[str, ...]:
        """The ids of every trace, sorted."""
        ...

    async def delete(self, trace_id: str) -> None:
        """Remove a trace; raise `TraceNotFound` if there is none."""
        ...


def not_found_error(trace_id: str, where: str, ids: Sequence[str]) -> TraceNotFound:
    shown = ", ".join(repr(i) for i in ids[:10]) + (", …" if len(ids) > 10 else "")
    return TraceNotFound(
        f"no trace {trace_id!r} in {where}; it holds {len(ids)} trace(s)" + (f": {shown}" if ids else "")
    )


def exists_error(trace_id: str, where: str) -> TraceExists:
    return TraceExists(
        f"trace {trace_id!r} already exists in {where}; traces are never overwritten. Record under a "
        "new trace_id (record() makes a unique one if you pass none) or delete the old trace first."
    )


def _bad_index(trace_id: str, index: int, expected: int) -> TraceStoreError:
    return TraceStoreError(
        f"exchange #{index} was appended to trace {trace_id!r}, which has {expected} exchange(s); "
        "appends must come in order, one writer per trace"
    )


@final
class MemoryTraceStore:
    """Traces kept in this process, as values (nothing is encoded).

    A loaded trace is scrubbed of secrets exactly as a file store's lines are,
    so a trace reads the same whichever store it went through (an exchange with
    a secret goes through JSON with ``codec``).

    >>> import trio
    >>> store = MemoryTraceStore()
    >>> trio.run(store.list)
    ()
    """

    def __init__(self, *, codec: Codec = DEFAULT) -> None:
        self.codec = codec
        # Effects and results are kept in two parallel lists (fewer objects for the
        # garbage collector to track than one pair each) and become exchanges on load.
        self._traces: dict[str, tuple[TraceMeta, list[Effect[Any]], list[Any]]] = {}

    def __repr__(self) -> str:
        return f"MemoryTraceStore(<{len(self._traces)} traces>)"

    def _entry(self, trace_id: str, hint: str = "") -> tuple[TraceMeta, list[Effect[Any]], list[Any]]:
        entry = self._traces.get(trace_id)
        if entry is None:
            raise not_found_error(trace_id, f"this MemoryTraceStore{hint}", sorted(self._traces))
        return entry

    def _recorder_sink(self, trace_id: str) -> tuple[list[Effect[Any]], list[Any]]:
        """The lists the recorder appends checked effects and results to, without awaiting."""
        _, effects, results = self._entry(trace_id)
        return effects, results

    async def begin(self, trace_id: str, meta: TraceMeta) -> None:
        check_trace_id(trace_id)
        if trace_id in self._traces:
            raise exists_error(trace_id, "this MemoryTraceStore")
        self._traces[trace_id] = (meta, [], [])

    async def append(self, trace_id: str, index: int, exchange: Exchange) -> None:
        _, effects, results = self._entry(trace_id, " (begin() it first)")
        if index != len(effects):
            raise _bad_index(trace_id, index, len(effects))
        effects.append(exchange.effect)
        results.append(exchange.result)

    async def load(self, trace_id: str, *, allow_truncated: bool = False) -> Trace:
        meta, effects, results = self._entry(trace_id)
        # Scrubbed as a file store's lines are: secrets never leave a store.
        exchanges = tuple(map(new_exchange, effects, results))
        return Trace(meta=meta, exchanges=scrub_exchanges(exchanges, codec=self.codec))

    async def list(self) -> tuple[str, ...]:
        return tuple(sorted(self._traces))

    async def delete(self, trace_id: str) -> None:
        if self._traces.pop(trace_id, None) is None:
            raise not_found_error(trace_id, "this MemoryTraceStore", sorted(self._traces))


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


_SUFFIX = ".jsonl"


@final
class DirectoryTraceStore:
    """One JSON Lines file per trace in ``directory`` (created when needed).

    Trace ids must be safe file names (`check_trace_id`): no separators, no
    ``..``. The header is written with ``O_EXCL`` (an existing trace is never
    overwritten) and each exchange is one ``O_APPEND`` write of a whole line, so
    a crashed run leaves a readable prefix. With ``fsync=True`` every write is
    also flushed to disk (slower; survives power loss). ``codec`` encodes and
    decodes the values (files of format 1 and 2 are read).
    """

    def __init__(
        self, directory: str | os.PathLike[str], *, fsync: bool = False, codec: Codec = DEFAULT
    ) -> None:
        self.directory = Path(directory)
        self.fsync = fsync
        self.codec = codec
        self._bases: dict[str, DeltaBase] = {}  # the latest model call appended to each trace

    def __repr__(self) -> str:
        return f"DirectoryTraceStore({str(self.directory)!r})"

    def path_of(self, trace_id: str) -> Path:
        """The file that holds trace ``trace_id``."""
        return self.directory / f"{check_trace_id(trace_id)}{_SUFFIX}"

    def _ids(self) -> list[str]:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        ids = []
        for name in names:
            if name.endswith(_SUFFIX):
                try:
                    ids.append(check_trace_id(name[: -len(_SUFFIX)]))
                except ValueError:
                    continue
        return sorted(ids)

    def _write(self, path: Path, data: bytes, flags: int) -> None:
        fd = os.open(path, flags, 0o644)
        try:
            _write_all(fd, data)
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

    async def begin(self, trace_id: str, meta: TraceMeta) -> None:
        path = self.path_of(trace_id)
        data = encode_header(meta).encode("utf-8")

        def create() -> None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._write(path, data, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND)

        try:
            await anyio.to_thread.run_sync(create)
        except FileExistsError:
            raise exists_error(trace_id, str(self.directory)) from None
        self._bases.pop(trace_id, None)

    async def append(self, trace_id: str, index: int, exchange: Exchange) -> None:
        path = self.path_of(trace_id)
        base = self._bases.get(trace_id)
        data = encode_exchange(
            index, exchange, base if base is not None and base[0] < index else None, codec=self.codec
        )
        try:
            await anyio.to_thread.run_sync(self._write, path, data.encode("utf-8"), os.O_WRONLY | os.O_APPEND)
        except FileNotFoundError:
            raise not_found_error(trace_id, f"{self.directory} (begin() it first)", self._ids()) from None
        new_base = next_base(index, exchange, base)
        if new_base is not None:
            self._bases[trace_id] = new_base

    async def load(self, trace_id: str, *, allow_truncated: bool = False) -> Trace:
        path = self.path_of(trace_id)
        try:
            return await anyio.to_thread.run_sync(
                lambda: read_trace(path, allow_truncated=allow_truncated, codec=self.codec)
            )
        except FileNotFoundError:
            raise not_found_error(
                trace_id, str(self.directory), await anyio.to_thread.run_sync(self._ids)
            ) from None

    async def list(self) -> tuple[str, ...]:
        return tuple(await anyio.to_thread.run_sync(self._ids))

    async def delete(self, trace_id: str) -> None:
        path = self.path_of(trace_id)
        self._bases.pop(trace_id, None)
        try:
            await anyio.to_thread.run_sync(path.unlink)
        except FileNotFoundError:
            raise not_found_error(
                trace_id, str(self.directory), await anyio.to_thread.run_sync(self._ids)
            ) from None


def read_trace(
    path: str | os.PathLike[str], *, allow_truncated: bool = False, codec: Codec = DEFAULT
) -> Trace:
    """Read a trace file (blocking; for scripts, notebooks and the CLI), format 1 or 2.

    ``codec`` decodes the values: pass the one the trace was written with. A
    leading UTF-8 byte order mark is ignored.

    Raises:
        FileNotFoundError: there is no such file.
        TraceDecodeError: the file is malformed, truncated or from a newer
            version; the message names the file, the line and the field.
    """
    raw = Path(path).read_bytes()
    if raw.startswith(codecs.BOM_UTF8):  # as some Windows editors save UTF-8
        raw = raw[len(codecs.BOM_UTF8) :]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TraceDecodeError(f"not UTF-8 text ({exc.reason})", line=line, source=str(path)) from None
    try:
        return decode_trace(text, allow_truncated=allow_truncated, codec=codec)
    except TraceDecodeError as exc:
        raise exc.at(str(path)) from None


def write_trace(path: str | os.PathLike[str], trace: Trace, *, codec: Codec = DEFAULT) -> None:
    """Write ``trace`` as a JSON Lines file (blocking, the current format); replaces the file atomically."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(encode_trace(trace, codec=codec), encoding="utf-8")
    os.replace(tmp, target)


async def save_trace(store: TraceStore, trace_id: str, trace: Trace) -> None:
    """Store a whole trace under ``trace_id`` (e.g. to copy it from one store to another)."""
    await store.begin(trace_id, trace.meta)
    for i, exchange in enumerate(trace.exchanges):
        await store.append(trace_id, i, exchange)
