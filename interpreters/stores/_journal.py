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
"""

from __future__ import annotations

from typing import Protocol, final

from tower_llm_fx.durable import Entry, journal_trace
from tower_llm_fx.serde import DEFAULT, Codec
from tower_llm_fx.trace import Trace, TraceNotFound, TraceStoreError

__all__ = ["JournalStore", "MemoryJournal", "journal_not_found", "taken_error"]


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


@final
class MemoryJournal:
    """Journals kept in this process, as values (tests, notebooks, the in-process benchmark).

    >>> import trio
    >>> trio.run(MemoryJournal().list)
    ()
    """

    def __init__(self, *, codec: Codec = DEFAULT) -> None:
        self.codec = codec
        self._runs: dict[str, list[Entry]] = {}

    def __repr__(self) -> str:
        return f"MemoryJournal(<{len(self._runs)} runs>)"

    def _journal_sink(self, run_id: str) -> list[Entry]:
        """The list a durable run appends run ``run_id``'s entries to, without awaiting."""
        return self._runs.setdefault(run_id, [])

    async def entries(self, run_id: str, /) -> tuple[Entry, ...]:
        return tuple(self._runs.get(run_id, ()))

    async def append(self, run_id: str, index: int, entry: Entry, /) -> None:
        entries = self._runs.setdefault(run_id, [])
        if index != len(entries):
            raise taken_error(run_id, index, len(entries))
        entries.append(entry)

    async def load(self, run_id: str, /, *, allow_truncated: bool = False) -> Trace:
        entries = self._runs.get(run_id)
        if entries is None:
            raise journal_not_found(run_id, "this MemoryJournal", tuple(sorted(self._runs)))
        return journal_trace(entries)

    async def list(self) -> tuple[str, ...]:
        return tuple(sorted(self._runs))
