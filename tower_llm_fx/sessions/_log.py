"""The session log: append-only records, the session effects, and the pure fold.

Theory of operation:

* Rule 1: a session is an append-only log of *records*, numbered 1, 2, 3, …
  (the sequence number, ``seq``). A record is a message, or a `Compaction`
  saying "from here on, the records shown between ``first_seq`` and
  ``last_seq`` are replaced by this message". Nothing is ever rewritten or
  deleted by a run: compaction is one more record, and the originals stay in
  the log (`SessionLog.originals` undoes every compaction).
* Rule 2: the conversation a run sees is a pure fold of the log
  (`SessionLog.view`). Each message in it is tagged with the ``seq`` of the
  record that put it there, so a later compaction can name its range.
* Rule 3: a save says which sequence number it appends after
  (``SaveSession.after_seq``). A store refuses a save whose ``after_seq`` is
  not the session's last ``seq`` with ``SessionConflict``: two writers can
  never interleave, lose or duplicate records (optimistic concurrency).
* Records travel as JSON made by ``to_json`` (a `Codec`'s ``encode``);
  `decode_record` is ``from_json`` plus the check that the value is a record.
  Loading long sessions is a hot path: the codec's decoders, compiled per class
  from its attrs fields, make it fast (there is no second decoder here to keep in
  step with the message classes).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias, cast, final

import attrs
from attrs import validators as v

from tower_llm_fx._effects import Effect
from tower_llm_fx._errors import SessionError
from tower_llm_fx._messages import (
    MESSAGE_TYPES,
    Message,
    UserMessage,
)
from tower_llm_fx._serde import DEFAULT, Codec

__all__ = [
    "Compaction",
    "LoadSession",
    "Record",
    "SaveSession",
    "Saved",
    "SeqRuns",
    "SessionLog",
    "decode_record",
    "fold_log",
]

_nonneg = [v.instance_of(int), v.ge(0)]
_positive = [v.instance_of(int), v.ge(1)]


def _session_id(_inst: object, _attr: object, value: str) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"a session id must be a non-empty string, got {value!r}")


@final
@attrs.frozen(kw_only=True)
class Compaction:
    """A log record: the messages shown for records ``first_seq``..``last_seq`` become ``message``.

    Both ends are inclusive and name messages of the conversation as it stood
    when the compaction was made, by the ``seq`` of the record that put them
    there (either may be an earlier compaction's message, so ``first_seq`` may
    be greater than ``last_seq``; what counts is their order in the conversation). ``strategy`` says how the replacement was made, and the token
    estimates let you audit what it saved. The original records stay in the log.

    >>> from tower_llm_fx import user
    >>> Compaction(first_seq=1, last_seq=4, message=user("[summary]"), strategy="drop_oldest()").last_seq
    4
    """

    first_seq: int = attrs.field(validator=_positive)
    last_seq: int = attrs.field(validator=_positive)
    message: UserMessage = attrs.field(validator=v.instance_of(UserMessage))
    strategy: str = attrs.field(validator=v.instance_of(str))
    tokens_before: int = attrs.field(default=0, validator=_nonneg)
    tokens_after: int = attrs.field(default=0, validator=_nonneg)


Record: TypeAlias = Message | Compaction
"""One entry of a session log."""

_RECORD_TYPES: tuple[type[Any], ...] = (*MESSAGE_TYPES, Compaction)
_RECORD_TYPE_SET = frozenset(_RECORD_TYPES)

SeqRuns: TypeAlias = tuple[tuple[int, int], ...]
"""The ``seq`` of each message of a conversation, as runs ``(first_seq, count)``."""


def _records(value: Sequence[Record]) -> tuple[Record, ...]:
    if type(value) is tuple and _RECORD_TYPE_SET.issuperset(map(type, value)):
        return value
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"records must be a sequence of messages and Compaction, got {type(value).__name__}")
    for i, r in enumerate(value):
        if not isinstance(r, _RECORD_TYPES):
            raise TypeError(f"records[{i}] is a {type(r).__name__}, not a message or a Compaction")
    return tuple(value)


def fold_log(records: Sequence[Record]) -> tuple[tuple[Message, ...], SeqRuns]:
    """Fold a log into the conversation it shows, and the ``seq`` of each of its messages.

    Record ``i`` (0-based) has ``seq == i + 1``.

    Raises:
        SessionError: a compaction names a range that is not in the conversation.

    >>> from tower_llm_fx import user, assistant
    >>> log = (user("a"), assistant("b"), user("c"), Compaction(first_seq=1, last_seq=2, message=user("[ab]"), strategy="x"))
    >>> fold_log(log)
    ((UserMessage(content='[ab]', name=None), UserMessage(content='c', name=None)), ((4, 1), (3, 1)))
    """
    if not any(type(r) is Compaction for r in records):
        return cast("tuple[Message, ...]", tuple(records)), (((1, len(records)),) if records else ())
    messages: list[Message] = []
    seqs: list[int] = []
    for seq, r in enumerate(records, 1):
        if isinstance(r, Compaction):
            try:
                a = seqs.index(r.first_seq)
                b = seqs.index(r.last_seq, a)
            except ValueError:
                raise SessionError(
                    f"record {seq} compacts records {r.first_seq}..{r.last_seq}, which are not both in the "
                    "conversation at that point (in this order); the log is corrupt or was edited by hand"
                ) from None
            messages[a : b + 1] = [r.message]
            seqs[a : b + 1] = [seq]
        else:
            messages.append(r)
            seqs.append(seq)
    return tuple(messages), _to_runs(seqs)


def _to_runs(seqs: Sequence[int]) -> SeqRuns:
    runs: list[tuple[int, int]] = []
    first = prev = -2
    count = 0
    for s in seqs:
        if s == prev + 1:
            count += 1
        else:
            if count:
                runs.append((first, count))
            first, count = s, 1
        prev = s
    if count:
        runs.append((first, count))
    return tuple(runs)


def seq_at(runs: SeqRuns, index: int) -> int:
    """The ``seq`` of message ``index`` of a conversation described by ``runs``."""
    for first, count in runs:
        if index < count:
            return first + index
        index -= count
    raise IndexError("index outside the saved conversation")


def slice_runs(runs: SeqRuns, start: int, end: int) -> SeqRuns:
    """The runs of messages ``[start, end)``."""
    out: list[tuple[int, int]] = []
    pos = 0
    for first, count in runs:
        lo, hi = max(start, pos), min(end, pos + count)
        if lo < hi:
            out.append((first + lo - pos, hi - lo))
        pos += count
    return tuple(out)


def extend_runs(runs: SeqRuns, first: int, count: int) -> SeqRuns:
    """``runs`` followed by ``count`` messages numbered from ``first``."""
    if count == 0:
        return runs
    if runs:
        last_first, last_count = runs[-1]
        if last_first + last_count == first:
            return (*runs[:-1], (last_first, last_count + count))
    return (*runs, (first, count))


@final
@attrs.frozen(kw_only=True)
class SessionLog:
    """A session's whole log, as loaded: ``records[i]`` has sequence number ``i + 1``.

    >>> from tower_llm_fx import user, assistant
    >>> log = SessionLog(session_id="s", records=(user("hi"), assistant("hello")))
    >>> log.last_seq, [m.content for m in log.view()]
    (2, ['hi', 'hello'])
    """

    session_id: str = attrs.field(validator=_session_id)
    records: tuple[Record, ...] = attrs.field(default=(), converter=_records)

    @property
    def last_seq(self) -> int:
        """The sequence number of the last record (0 for an empty session)."""
        return len(self.records)

    def view(self) -> tuple[Message, ...]:
        """The conversation the log shows: messages with every compaction applied."""
        return fold_log(self.records)[0]

    def originals(self) -> tuple[Message, ...]:
        """Every message record in order, ignoring compactions (undoes them all)."""
        return tuple(r for r in self.records if not isinstance(r, Compaction))

    def compactions(self) -> tuple[tuple[int, Compaction], ...]:
        """``(seq, compaction)`` for each compaction record."""
        return tuple((i, r) for i, r in enumerate(self.records, 1) if type(r) is Compaction)


@final
@attrs.frozen(kw_only=True)
class Saved:
    """The result of a `SaveSession`: the session's last sequence number after the append."""

    session_id: str = attrs.field(validator=_session_id)
    last_seq: int = attrs.field(validator=_nonneg)


@final
@attrs.frozen(kw_only=True)
class LoadSession(Effect[SessionLog]):
    """Load a session's log (an unknown session is an empty log, not an error).

    **Result:** `SessionLog`.
    **Performed by:** ``interpreters.stores.memory_store``, ``interpreters.stores.open_sqlite_store``, ``replay``.
    """

    session_id: str = attrs.field(validator=_session_id)


def _non_empty_records(value: Sequence[Record]) -> tuple[Record, ...]:
    records = _records(value)
    if not records:
        raise ValueError("a SaveSession appends at least one record")
    return records


@final
@attrs.frozen(kw_only=True)
class SaveSession(Effect[Saved]):
    """Append ``records`` to a session, in one transaction, after record ``after_seq``.

    The append happens only if the session's last sequence number is still
    ``after_seq``; otherwise nothing is written and the store raises
    ``SessionConflict``. The new records get ``after_seq + 1``, ``after_seq + 2``, ….

    **Result:** `Saved` with ``last_seq == after_seq + len(records)``.
    **Performed by:** ``interpreters.stores.memory_store``, ``interpreters.stores.open_sqlite_store``, ``replay``.
    """

    session_id: str = attrs.field(validator=_session_id)
    after_seq: int = attrs.field(validator=_nonneg)
    records: tuple[Record, ...] = attrs.field(converter=_non_empty_records)


def decode_record(data: Any, *, codec: Codec = DEFAULT) -> Record:
    """Decode one record from JSON data made by ``to_json`` (exactly like ``from_json``).

    Reads format v2 (wire names) and v1 (class names); ``codec`` says which
    types are known (default: the library's).

    Raises:
        DecodeError: the data is not a valid encoded value.
        SessionError: it is a valid value but not a message or a `Compaction`.

    >>> from tower_llm_fx import to_json, user
    >>> decode_record(to_json(user("hi"))) == user("hi")
    True
    >>> decode_record({"type": "UserMessage", "content": "hi", "name": None}) == user("hi")
    True
    """
    value = codec.decode(data)
    if type(value) not in _RECORD_TYPE_SET:
        raise SessionError(
            f"a session record must be a message or a Compaction, found a {type(value).__name__}"
        )
    return value  # type: ignore[no-any-return]
