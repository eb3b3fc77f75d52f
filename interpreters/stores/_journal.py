"""Journal stores: where a durable run appends its effect journal, and where a resume reads it.

A journal is a sequence of entries (``tower_llm_fx.durable``: ``RunBegun``,
``Intent``, ``Outcome``, ``Failure``) per run id, appended one at a time and
never rewritten. The interface is four small async methods, so a store over
another database (Postgres, say) is a class with the same methods:

* ``entries(run_id)`` — every entry, in order (``()`` for an unknown run);
* ``append(run_id, index, entry)`` — entry number ``index``; an index that is
  already taken raises `TraceStoreError` (two processes resuming one run: the
  second stops instead of interleaving);
* ``load(run_id)`` — the journal as a ``Trace`` of its completed exchanges
  (so ``replay_run`` and the CLI read a journal like a recording);
* ``list()`` — the run ids, sorted.

`MemoryJournal` keeps the values in this process (nothing is encoded);
``open_sqlite_journal`` (in ``_journal_sqlite.py``) is the embedded default.

The in-process fast path: a durable run appends to a `MemoryJournal`'s list
directly, with no await. What it appends is not entry values but their
fields, flat: building the entry values costs more than the rest of the
journaling, and every object a journal keeps is one more for the garbage
collector to walk, run after run. A new run's list starts ``BEGUN, run_id,
input`` (``_journal_begin``); its first attempts follow as *pairs*: for effect
number ``k`` the effect itself (its intent: position ``(k, None)``, attempt 1,
and for a tool call the key `idempotency_key` derives) and then its result
(its outcome). An attempt that raised is closed with ``FAILED, failure``; one
whose result was refused with `OPEN` (its outcome unknown, as after a crash).
Later writes are tagged forms (``INTENT, at, call, attempt, effect, key`` and
``OUTCOME, at, call, attempt, result``) or entry values. The journal turns all
of them into entry values the first time they are read (and keeps those); a
reader never sees the difference. So the list's length counts items, not
entries: `sink_taken` reports a clash in entries. A run holds its list for as
long as it runs (``_journal_begin`` or ``_journal_sink`` ... ``_journal_release``),
so no other run of that id appends in between.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeAlias, cast, final

from tower_llm_fx import Effect, ToolCall
from tower_llm_fx.durable import (
    Entry,
    idempotency_key,
    journal_trace,
    new_intent,
    new_outcome,
    new_run_begun,
)
from tower_llm_fx.serde import DEFAULT, Codec
from tower_llm_fx.trace import Trace, TraceNotFound, TraceStoreError

__all__ = [
    "BEGUN",
    "FAILED",
    "INTENT",
    "OPEN",
    "OUTCOME",
    "JournalStore",
    "MemoryJournal",
    "Raw",
    "already_running",
    "journal_not_found",
    "pair_at",
    "pair_intent",
    "raw_intent",
    "raw_outcome",
    "sink_taken",
    "taken_error",
]


class JournalStore(Protocol):
    """Where a durable run journals its effects (see the module docstring)."""

    async def entries(self, run_id: str, /) -> tuple[Entry, ...]:
        """Every entry of run ``run_id``, in order; ``()`` if there is none."""
        ...

    async def append(self, run_id: str, index: int, entry: Entry, /) -> None:
        """Append entry number ``index`` (0, 1, 2, ... in order) to run ``run_id``'s journal."""
        ...

    async def load(self, run_id: str, /, *, allow_truncated: bool = False) -> Trace:
        """The journal's completed exchanges as a trace; `TraceNotFound` for an unknown run."""
        ...

    async def list(self) -> tuple[str, ...]:
        """The run ids with a journal, sorted."""
        ...


def journal_not_found(run_id: str, where: str, ids: tuple[str, ...]) -> TraceNotFound:
    shown = ", ".join(repr(i) for i in ids[:10]) + (", …" if len(ids) > 10 else "")
    return TraceNotFound(
        f"no journal for run {run_id!r} in {where}; it holds {len(ids)} run(s)"
        + (f": {shown}" if ids else "")
    )


def taken_error(run_id: str, index: int, count: int) -> TraceStoreError:
    return TraceStoreError(
        f"entry #{index} of run {run_id!r}'s journal was appended, but the journal has {count} entries: "
        "another process is running or resuming this run. Let it finish; never resume one run twice at once"
    )


Raw: TypeAlias = "Entry | tuple[Any, ...]"
"""What a durable run appends: an entry, or an intent or outcome in its tuple form (`raw_intent`)."""

BEGUN, INTENT, OUTCOME, FAILED, OPEN = object(), object(), object(), object(), object()
"""The tags of the flat forms (see the module docstring): private objects, so no result is one."""


def pair_at(i: int) -> int:
    """The effect number of a pair whose effect is item ``i`` of a new run's list (after ``BEGUN``'s 3)."""
    return (i - 3) >> 1


def raw_intent(
    at: int, call: int | None, attempt: int, effect: object, idempotency_key: str | None
) -> tuple[object, ...]:
    """``new_intent(...)``'s fields, tagged, for a run appending to a `MemoryJournal`'s list."""
    return (INTENT, at, call, attempt, effect, idempotency_key)


def raw_outcome(at: int, call: int | None, attempt: int, result: object) -> tuple[object, ...]:
    """``new_outcome(...)``'s fields, tagged, for a run appending to a `MemoryJournal`'s list."""
    return (OUTCOME, at, call, attempt, result)


def _read(items: list[object], start: int, into: list[Entry]) -> int:
    """Append to ``into`` the entries of ``items[start:]`` (flat forms made values); where it ended.

    It ends before a pair's effect whose result is not in yet (an effect in
    flight): the caller reads that intent on its own, until the pair is whole.
    """
    i, end = start, len(items)
    while i < end:
        item = items[i]
        if item is INTENT:
            into.append(new_intent(*items[i + 1 : i + 6]))  # type: ignore[arg-type]
            i += 6
        elif item is OUTCOME:
            into.append(new_outcome(*items[i + 1 : i + 5]))  # type: ignore[arg-type]
            i += 5
        elif item is BEGUN:
            into.append(new_run_begun(*items[i + 1 : i + 3]))  # type: ignore[arg-type]
            i += 3
        elif isinstance(item, Effect):  # a pair: effect number (i - 3) / 2 of a new run, attempt 1
            if i + 1 == end:
                return i
            into.append(pair_intent(items, i))
            after = items[i + 1]
            if after is FAILED:
                into.append(items[i + 2])  # type: ignore[arg-type]
                i += 3
            elif after is OPEN:
                i += 2
            else:
                into.append(new_outcome(pair_at(i), None, 1, after))
                i += 2
        else:
            into.append(item)  # type: ignore[arg-type]
            i += 1
    return i


def pair_intent(items: list[object], i: int) -> Entry:
    """The `Intent` of the pair whose effect is ``items[i]`` (``items`` starts with ``BEGUN, run_id``)."""
    effect, at = cast("Effect[Any]", items[i]), pair_at(i)
    key = idempotency_key(cast("str", items[1]), at, effect.id) if type(effect) is ToolCall else None
    return new_intent(at, None, 1, effect, key)


def already_running(run_id: str) -> TraceStoreError:
    return TraceStoreError(
        f"run {run_id!r} is already running on this MemoryJournal: never resume one run twice at once. "
        "Let it finish (or cancel it), then resume; or give the second run another run_id"
    )


def sink_taken(run_id: str, sink: list[object], expected: int) -> TraceStoreError:
    """`taken_error` for a sink that holds other than ``expected`` items, counted in entries."""
    written: list[Entry] = []
    _read(sink[:expected], 0, written)
    everything: list[Entry] = []
    _read(sink, 0, everything)
    return taken_error(run_id, len(written), len(everything))


@final
class MemoryJournal:
    """Journals kept in this process, as values (tests, notebooks, the in-process benchmark).

    >>> import trio
    >>> trio.run(MemoryJournal().list)
    ()
    """

    def __init__(self, *, codec: Codec = DEFAULT) -> None:
        self.codec = codec
        self._runs: dict[str, list[object]] = {}  # run id -> its items (entries and flat forms)
        self._read: dict[str, tuple[int, list[Entry]]] = {}  # run id -> (items read, their entries)
        self._running: set[str] = set()  # the runs appending now (each holds its list)

    def __repr__(self) -> str:
        return f"MemoryJournal(<{sum(1 for items in self._runs.values() if items)} runs>)"

    def _journal_sink(self, run_id: str) -> list[object]:
        """The list run ``run_id`` appends its items to, without awaiting; held until `_journal_release`."""
        if run_id in self._running:
            raise already_running(run_id)
        self._running.add(run_id)
        return self._runs.setdefault(run_id, [])

    def _journal_begin(self, run_id: str, input: object) -> list[object] | None:
        """A new run's list, begun (``BEGUN, run_id, input``) and held as by `_journal_sink`.

        None if run ``run_id`` has items already: it resumes (hold its list with `_journal_sink`).
        """
        if run_id in self._running:
            raise already_running(run_id)
        if self._runs.get(run_id):
            return None
        self._running.add(run_id)
        self._runs[run_id] = items = [BEGUN, run_id, input]
        return items

    def _journal_release(self, run_id: str) -> None:
        """Run ``run_id`` has stopped appending (it ended, raised or was cancelled)."""
        self._running.discard(run_id)

    def _entries(self, run_id: str) -> list[Entry]:
        items = self._runs.get(run_id)
        if not items:
            return []
        done, entries = self._read.get(run_id, (0, []))
        if done != len(items):
            done = _read(items, done, entries)
            self._read[run_id] = (done, entries)
            if done != len(items):  # an effect in flight: its intent, not kept until its result is in
                return [*entries, pair_intent(items, done)]
        return entries

    async def entries(self, run_id: str, /) -> tuple[Entry, ...]:
        return tuple(self._entries(run_id))

    async def append(self, run_id: str, index: int, entry: Entry, /) -> None:
        if run_id in self._running:  # a durable run is appending to it directly
            raise already_running(run_id)
        count = len(self._entries(run_id))
        if index != count:
            raise taken_error(run_id, index, count)
        self._runs.setdefault(run_id, []).append(entry)

    async def load(self, run_id: str, /, *, allow_truncated: bool = False) -> Trace:
        entries = self._entries(run_id)
        if not entries:
            raise journal_not_found(run_id, "this MemoryJournal", await self.list())
        return journal_trace(tuple(entries))

    async def list(self) -> tuple[str, ...]:
        return tuple(sorted(run for run, items in self._runs.items() if items))
