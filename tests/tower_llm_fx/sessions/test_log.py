"""Session log records: the fold, sequence-number runs, effects, and exact decoding."""

from __future__ import annotations

import json
import re

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.serde
import tower_llm_fx.sessions
from tests.laws._conversations import any_message
from tests.support.wire_v1 import as_v1
from tower_llm_fx.serde import DEFAULT
from tower_llm_fx.sessions._log import extend_runs, seq_at, slice_runs

text = st.text(max_size=20)


def compaction(first: int, last: int, content: str = "[sum]") -> fx.sessions.Compaction:
    return fx.sessions.Compaction(first_seq=first, last_seq=last, message=fx.user(content), strategy="test")


def test_records_are_numbered_from_one_and_compactions_replace_ranges() -> None:
    log = fx.sessions.SessionLog(
        session_id="s",
        records=(
            fx.system("sys"),  # 1
            fx.user("a"),  # 2
            fx.assistant("b"),  # 3
            fx.user("c"),  # 4
            compaction(2, 3, "[ab]"),  # 5
            fx.assistant("d"),  # 6
            compaction(5, 6, "[abcd]"),  # 7: compacts a compaction and what follows
        ),
    )
    messages, runs = fx.sessions.fold_log(log.records)
    assert [m.content for m in messages] == ["sys", "[abcd]"]
    assert runs == ((1, 1), (7, 1))
    assert log.last_seq == 7
    assert [m.content for m in log.originals()] == ["sys", "a", "b", "c", "d"]
    assert [seq for seq, _ in log.compactions()] == [5, 7]


def test_a_compaction_naming_an_unknown_range_is_a_corrupt_log() -> None:
    with pytest.raises(fx.sessions.SessionError, match="corrupt"):
        fx.sessions.fold_log((fx.user("a"), compaction(1, 5)))
    with pytest.raises(fx.sessions.SessionError, match="corrupt"):
        fx.sessions.fold_log((fx.user("a"), fx.user("b"), compaction(1, 2), compaction(1, 3)))


def test_effects_validate_their_fields() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        fx.sessions.LoadSession(session_id="")
    with pytest.raises(ValueError, match="at least one record"):
        fx.sessions.SaveSession(session_id="s", after_seq=0, records=())
    with pytest.raises(TypeError, match="not a message or a Compaction"):
        fx.sessions.SaveSession(session_id="s", after_seq=0, records=("hi",))  # type: ignore[arg-type]
    assert fx.sessions.SaveSession(session_id="s", after_seq=0, records=[fx.user("x")]).records == (
        fx.user("x"),
    )


@given(st.lists(st.tuples(st.integers(1, 50), st.integers(1, 5)), max_size=6))
def test_seq_runs_agree_with_a_plain_list(raw: list[tuple[int, int]]) -> None:
    runs: tuple[tuple[int, int], ...] = ()
    seqs: list[int] = []
    for first, count in raw:
        runs = extend_runs(runs, first, count)
        seqs.extend(range(first, first + count))
    assert [seq_at(runs, i) for i in range(len(seqs))] == seqs
    for start in range(len(seqs) + 1):
        for end in range(start, len(seqs) + 1):
            flat = [f + k for f, c in slice_runs(runs, start, end) for k in range(c)]
            assert flat == seqs[start:end]
    with pytest.raises(IndexError):
        seq_at(runs, len(seqs))


records = st.one_of(
    any_message,
    st.builds(
        fx.sessions.Compaction,
        first_seq=st.integers(1, 5),
        last_seq=st.integers(5, 9),
        message=st.builds(fx.UserMessage, content=text),
        strategy=text,
        tokens_before=st.integers(0, 99),
        tokens_after=st.integers(0, 99),
    ),
)


@given(records)
def test_decode_record_is_an_exact_from_json(record: fx.sessions.Record) -> None:
    data = json.loads(json.dumps(fx.to_json(record)))
    assert fx.sessions.decode_record(data) == record == fx.from_json(data)
    assert type(fx.sessions.decode_record(data)) is type(record)


@given(records)
def test_decode_record_reads_format_v1_as_the_same_record(record: fx.sessions.Record) -> None:
    v1 = as_v1(json.loads(json.dumps(fx.to_json(record))))
    assert fx.sessions.decode_record(v1) == record == fx.from_json(v1)


def test_decode_record_reads_literal_v1_rows() -> None:
    call = {"type": "ToolCallRequest", "id": "c1", "name": "add", "arguments": "{}"}
    rows = [
        {"type": "SystemMessage", "content": "s"},
        {"type": "UserMessage", "content": "a", "name": None},
        {"type": "AssistantMessage", "content": None, "tool_calls": [call], "refusal": None, "name": None},
        {"type": "ToolMessage", "tool_call_id": "c1", "content": "3"},
        {
            "type": "Compaction",
            "first_seq": 1,
            "last_seq": 2,
            "message": {"type": "UserMessage", "content": "[sum]", "name": None},
            "strategy": "test",
            "tokens_before": 0,
            "tokens_after": 0,
        },
    ]
    assert tuple(map(fx.sessions.decode_record, rows)) == (
        fx.system("s"),
        fx.user("a"),
        fx.assistant(None, fx.ToolCallRequest(id="c1", name="add")),
        fx.ToolMessage(tool_call_id="c1", content="3"),
        compaction(1, 2),
    )


@given(records)
def test_decode_record_with_a_codec_of_ours_decodes_the_same(record: fx.sessions.Record) -> None:
    @attrs.frozen
    class LogTestTicket:
        id: int

    codec = DEFAULT.with_types({"test.log_ticket": LogTestTicket})
    data = json.loads(json.dumps(codec.encode(record)))
    assert fx.sessions.decode_record(data, codec=codec) == record
    with pytest.raises(fx.sessions.SessionError, match="message or a Compaction"):
        fx.sessions.decode_record(codec.encode(LogTestTicket(id=1)), codec=codec)


def test_the_fast_path_serves_only_codecs_that_read_message_tags_as_the_library_does() -> None:
    other = fx.serde.Codec(types={"other.user": fx.UserMessage})
    assert fx.sessions.decode_record({"type": "other.user", "content": "a"}, codec=other) == fx.user("a")
    with pytest.raises(fx.DecodeError, match=re.escape("unknown type 'message.user'")):
        fx.sessions.decode_record(fx.to_json(fx.user("a")), codec=other)


@pytest.mark.parametrize(
    "data",
    [
        {"type": "UserMessage", "content": 5, "name": None},
        {"type": "UserMessage", "name": None},
        {"type": "UserMessage", "content": "x", "name": None, "extra": 1},
        {"type": "AssistantMessage", "content": None, "tool_calls": [1], "refusal": None, "name": None},
        {"type": "Nope"},
    ],
)
def test_decode_record_rejects_what_from_json_rejects(data: object) -> None:
    with pytest.raises(fx.DecodeError):
        fx.sessions.decode_record(data)


def test_decode_record_fills_defaults_like_from_json() -> None:
    assert fx.sessions.decode_record({"type": "UserMessage", "content": "x"}) == fx.user("x")


def test_decode_record_refuses_values_that_are_not_records() -> None:
    with pytest.raises(fx.sessions.SessionError, match="message or a Compaction"):
        fx.sessions.decode_record(fx.to_json(fx.Usage()))


@given(st.lists(records, max_size=5))
def test_session_values_round_trip_through_json(rs: list[fx.sessions.Record]) -> None:
    values: list[object] = [
        fx.sessions.LoadSession(session_id="s"),
        fx.sessions.Saved(session_id="s", last_seq=3),
        fx.sessions.SessionLog(session_id="s", records=tuple(rs)),
    ]
    if rs:
        values.append(fx.sessions.SaveSession(session_id="s", after_seq=2, records=tuple(rs)))
    for value in values:
        assert fx.from_json(json.loads(json.dumps(fx.to_json(value)))) == value


json_values = st.one_of(st.none(), st.booleans(), st.integers(), text, st.lists(st.integers(), max_size=2))


@given(any_message, st.data())
def test_decode_record_agrees_with_from_json_on_damaged_data(
    message: fx.Message, data: st.DataObject
) -> None:
    encoded = json.loads(json.dumps(fx.to_json(message)))
    target = encoded
    if isinstance(message, fx.AssistantMessage) and message.tool_calls and data.draw(st.booleans()):
        target = data.draw(st.sampled_from(encoded["tool_calls"]))
    key = data.draw(st.sampled_from(sorted(k for k in target if k != "type")))
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace":
        target[key] = data.draw(json_values)
    elif action == "delete":
        del target[key]
    else:
        target[data.draw(st.sampled_from(["extra", "role", "content"]))] = data.draw(json_values)
    try:
        expected: object = fx.from_json(encoded)
    except fx.DecodeError:
        with pytest.raises(fx.DecodeError):
            fx.sessions.decode_record(encoded)
        return
    assert fx.sessions.decode_record(encoded) == expected


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
_tags = st.sampled_from(
    [
        "message.user",
        "message.assistant",
        "message.tool",
        "session.compaction",
        "UserMessage",
        "Compaction",
        "x.y",
    ]
)


@given(
    st.one_of(
        _json_values,
        st.builds(
            lambda tag, fields: {"type": tag, **fields},
            _tags,
            st.dictionaries(st.text(max_size=10), _json_values, max_size=5),
        ),
    )
)
def test_decode_record_fails_only_typed_on_any_json(data: object) -> None:
    """Issue 15: whatever a session row holds, decoding gives a record or a typed error."""
    try:
        record = fx.sessions.decode_record(data)
    except (fx.DecodeError, fx.sessions.SessionError):
        return
    assert isinstance(
        record,
        (fx.UserMessage, fx.AssistantMessage, fx.ToolMessage, fx.SystemMessage, fx.sessions.Compaction),
    )
