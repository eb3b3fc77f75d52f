"""The trace file format: exact round trips, compact model calls, and errors that name line and field."""

from __future__ import annotations

import json
import re
from pathlib import Path

import attrs
import pytest
from hypothesis import given

import tower_llm_fx as fx
import tower_llm_fx.trace
from tests.support.wire_v1 import as_v1
from tower_llm_fx import strategies as fxst
from tower_llm_fx.serde import DEFAULT, compact_json

SYSTEM = fx.system("You add numbers.")
SPEC = fx.ToolSpec(name="add", description="Add.", parameters={"type": "object"})
PARAMS = fx.ModelParams(temperature=0.5, stop=("END",))
CALL_REQ = fx.ToolCallRequest(id="c1", name="add", arguments='{"a": 2, "b": 3}')


def run_trace() -> fx.trace.Trace:
    """A realistic trace: model call, tool call, model call extending the first."""
    first = fx.ModelCall(model="m", messages=(SYSTEM, fx.user("2+3?")), tools=(SPEC,), params=PARAMS)
    reply = fx.ModelReply(message=fx.assistant(None, CALL_REQ), finish_reason="tool_calls")
    tool = fx.ToolCall(id="c1", name="add", arguments=CALL_REQ.arguments)
    result = fx.ToolResult.success(call_id="c1", name="add", content="5")
    second = attrs.evolve(first, messages=(*first.messages, reply.message, result.to_message()))
    final = fx.ModelReply(message=fx.assistant("5"), usage=fx.Usage(prompt_tokens=9, completion_tokens=1))
    return fx.trace.Trace(
        meta=fx.trace.TraceMeta(
            created_at="2025-01-01T00:00:00+00:00", agent="calc", model="m", tags={"v": "1"}
        ),
        exchanges=(
            fx.trace.Exchange(effect=first, result=reply),
            fx.trace.Exchange(effect=tool, result=result),
            fx.trace.Exchange(effect=second, result=final),
        ),
    )


def lines_of(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


# -- round trips ---------------------------------------------------------------


@given(fxst.traces())
def test_decode_inverts_encode(trace: fx.trace.Trace) -> None:
    assert fx.trace.decode_trace(fx.trace.encode_trace(trace)) == trace


@given(fxst.traces())
def test_the_json_document_form_round_trips_and_decode_trace_reads_it(trace: fx.trace.Trace) -> None:
    document = fx.trace.trace_to_json(trace)
    assert fx.trace.trace_from_json(json.loads(json.dumps(document))) == trace
    assert fx.trace.decode_trace(json.dumps(document)) == trace
    assert fx.trace.decode_trace(json.dumps(document, indent=2)) == trace


def test_the_file_is_a_header_then_one_line_per_exchange() -> None:
    text = fx.trace.encode_trace(run_trace())
    header, *rows = lines_of(text)
    assert header == {
        "format": "tower_llm_fx.trace",
        "version": 2,
        "library_version": fx.__version__,
        "created_at": "2025-01-01T00:00:00+00:00",
        "agent": "calc",
        "model": "m",
        "tags": {"v": "1"},
    }
    assert [row["i"] for row in rows] == [0, 1, 2]
    assert text.endswith("\n")
    assert (
        fx.trace.encode_header(run_trace().meta)
        + "".join(fx.trace.encode_exchange(i, ex) for i, ex in enumerate(run_trace().exchanges))
        != text
    ), "encode_trace writes later model calls as references"


def test_a_model_call_refers_to_the_previous_one_instead_of_repeating_it() -> None:
    rows = lines_of(fx.trace.encode_trace(run_trace()))[1:]
    second = rows[2]["effect"]
    assert isinstance(second, dict)
    assert second["tools"] == {"same_as": 0}
    assert second["params"] == {"same_as": 0}
    messages = second["messages"]
    assert isinstance(messages, dict)
    assert messages["extends"] == 0
    assert [m["type"] for m in messages["append"]] == ["message.assistant", "message.tool"]


def test_a_long_run_file_grows_linearly() -> None:
    trace = run_trace()
    first = trace.exchanges[0].effect
    assert isinstance(first, fx.ModelCall)
    exchanges, messages = [], first.messages
    for i in range(200):
        messages = (*messages, fx.user(f"turn {i}"))
        exchanges.append(
            fx.trace.Exchange(effect=attrs.evolve(first, messages=messages), result=trace.exchanges[2].result)
        )
    long = fx.trace.Trace(exchanges=exchanges)
    text = fx.trace.encode_trace(long)
    assert len(text) < 200 * 800  # each conversation in full would be over 1 MB
    assert fx.trace.decode_trace(text) == long


def test_a_changed_prefix_is_written_in_full() -> None:
    trace = run_trace()
    second = trace.exchanges[2].effect
    assert isinstance(second, fx.ModelCall)
    changed = attrs.evolve(second, messages=(fx.system("Other prompt"), *second.messages[1:]))
    edited = fx.trace.Trace(
        exchanges=(trace.exchanges[0], trace.exchanges[1], attrs.evolve(trace.exchanges[2], effect=changed))
    )
    row = lines_of(fx.trace.encode_trace(edited))[3]["effect"]
    assert isinstance(row, dict)
    assert isinstance(row["messages"], list)
    assert row["tools"] == {"same_as": 0}
    assert fx.trace.decode_trace(fx.trace.encode_trace(edited)) == edited


def test_decoding_shares_equal_messages() -> None:
    trace = fx.trace.decode_trace(fx.trace.encode_trace(run_trace()))
    reply = trace.exchanges[0].result
    second = trace.exchanges[2].effect
    first = trace.exchanges[0].effect
    assert isinstance(second, fx.ModelCall)
    assert isinstance(first, fx.ModelCall)
    assert second.messages[2] is reply.message
    assert second.messages[0] is first.messages[0]
    assert second.tools is first.tools


def test_lone_surrogates_keep_the_file_valid_utf8() -> None:
    ex = fx.trace.Exchange(
        effect=fx.ToolCall(id="c", name="t"),
        result=fx.ToolResult.success(call_id="c", name="t", content="bad \ud800 text and ünïcode"),
    )
    text = fx.trace.encode_trace(fx.trace.Trace(exchanges=(ex,)))
    text.encode("utf-8")
    assert fx.trace.decode_trace(text).exchanges == (ex,)


def test_non_ascii_text_is_written_as_is() -> None:
    ex = fx.trace.Exchange(
        effect=fx.ToolCall(id="c", name="t"),
        result=fx.ToolResult.success(call_id="c", name="t", content="ünïcode ✓"),
    )
    assert "ünïcode ✓" in fx.trace.encode_trace(fx.trace.Trace(exchanges=(ex,)))


def test_values_that_look_alike_in_json_stay_distinct() -> None:
    # true and 1 are equal in Python; interning must not let one stand in for the other.
    call = fx.ModelCall(model="m", messages=(), params=fx.ModelParams(parallel_tool_calls=True))
    exchange = fx.trace.Exchange(effect=call, result=fx.ModelReply(message=fx.assistant("x")))
    good = fx.trace.encode_trace(fx.trace.Trace(exchanges=(exchange,)))
    assert fx.trace.decode_trace(good).exchanges == (exchange,)
    bad = good.replace('"parallel_tool_calls":true', '"parallel_tool_calls":1')
    with pytest.raises(fx.trace.TraceDecodeError, match="invalid ModelParams") as info:
        fx.trace.decode_trace(bad)
    assert (info.value.line, info.value.field) == (2, "effect.params")


# -- errors ------------------------------------------------------------------


def good_text() -> str:
    return fx.trace.encode_trace(run_trace())


def replace_line(text: str, n: int, new: str) -> str:
    lines = text.splitlines(keepends=True)
    lines[n - 1] = new + "\n"
    return "".join(lines)


def edit_line(text: str, n: int, edit: object) -> str:
    lines = text.splitlines()
    data = json.loads(lines[n - 1])
    edit(data)  # type: ignore[operator]
    lines[n - 1] = json.dumps(data)
    return "\n".join(lines) + "\n"


def test_a_newer_format_version_is_refused_with_upgrade_advice() -> None:
    text = edit_line(good_text(), 1, lambda d: d.update(version=3, library_version="9.0"))
    with pytest.raises(fx.trace.TraceDecodeError) as info:
        fx.trace.decode_trace(text)
    assert info.value.line == 1
    assert info.value.field == "version"
    assert "format version 3 (written by tower_llm_fx 9.0)" in str(info.value)
    assert "reads versions up to 2" in str(info.value)
    assert "Upgrade tower_llm_fx" in str(info.value)


@pytest.mark.parametrize(
    ("edit", "line", "field", "message"),
    [
        (lambda d: d.update(format="other"), 1, "format", "not a tower_llm_fx trace"),
        (lambda d: d.update(version="1"), 1, "version", "expected a format version"),
        (lambda d: d.update(version=0), 1, "version", r"reads 1 to 2\), got 0: the header is damaged"),
        (lambda d: d.update(colour="red"), 1, "colour", "unknown header field"),
        (lambda d: d.update(agent=3), 1, "agent", "expected a string or null"),
        (lambda d: d.update(tags={"a": 1}), 1, "tags", "expected an object of strings"),
        (lambda d: d.update(library_version=None), 1, "library_version", "expected a string"),
    ],
)
def test_header_errors_name_the_field(edit: object, line: int, field: str, message: str) -> None:
    with pytest.raises(fx.trace.TraceDecodeError, match=message) as info:
        fx.trace.decode_trace(edit_line(good_text(), 1, edit))
    assert (info.value.line, info.value.field) == (line, field)


@pytest.mark.parametrize(
    ("line", "edit", "field", "message"),
    [
        (3, lambda d: d.update(i=5), "i", "expected exchange index 1, got 5"),
        (3, lambda d: d.pop("result"), "result", "missing"),
        (3, lambda d: d.update(extra=1), None, "unexpected field"),
        (3, lambda d: d["effect"].update(type="Teleport"), "effect", "unknown type 'Teleport'"),
        (3, lambda d: d["result"].update(content=5), "result", "invalid ToolResult"),
        (
            3,
            lambda d: d.update(
                result=d.pop("effect") and {"type": "Usage", "prompt_tokens": 1, "completion_tokens": 1},
                effect={"type": "Usage", "prompt_tokens": 1, "completion_tokens": 1},
            ),
            "effect",
            "a Usage is not an effect",
        ),
        (
            2,
            lambda d: d["effect"]["messages"][1].update(content=None),
            "effect.messages[1]",
            "invalid UserMessage",
        ),
        (2, lambda d: d.update(result=[]), "result", "a ModelCall is answered by a ModelReply"),
        (
            4,
            lambda d: d["effect"]["messages"].update(extends=1),
            "effect.messages",
            "refers to exchange 1, but only the latest model call",
        ),
        (4, lambda d: d["effect"]["tools"].update(same_as=7), "effect.tools", "refers to exchange 7"),
        (4, lambda d: d["effect"].update(params={"same_as": 0, "x": 1}), "effect.params", "has the keys"),
    ],
)
def test_exchange_errors_name_line_and_field(
    line: int, edit: object, field: str | None, message: str
) -> None:
    with pytest.raises(fx.trace.TraceDecodeError, match=message) as info:
        fx.trace.decode_trace(edit_line(good_text(), line, edit))
    assert info.value.line == line
    assert info.value.field == field
    assert isinstance(info.value, fx.DecodeError)
    assert str(info.value).startswith(f"trace line {line}")


def test_a_reference_before_any_model_call_is_refused() -> None:
    text = good_text()
    rows = text.splitlines()
    with pytest.raises(fx.trace.TraceDecodeError, match="there is none before this line") as info:
        fx.trace.decode_trace("\n".join([rows[0], rows[3].replace('"i":2', '"i":0')]) + "\n")
    assert info.value.line == 2


def test_invalid_json_in_the_middle_names_the_line() -> None:
    text = replace_line(good_text(), 3, '{"i": 1, "effect": ')
    with pytest.raises(fx.trace.TraceDecodeError, match=r"trace line 3: not valid JSON") as info:
        fx.trace.decode_trace(text)
    assert info.value.field is None


def test_a_torn_last_line_is_reported_as_a_crash_and_can_be_dropped() -> None:
    text = good_text()
    torn = text[: text.rindex("\n", 0, len(text) - 1) + 40]
    with pytest.raises(fx.trace.TraceDecodeError, match="ends in the middle of exchange 2") as info:
        fx.trace.decode_trace(torn)
    assert info.value.line == 4
    assert "allow_truncated=True" in str(info.value)
    assert fx.trace.decode_trace(torn, allow_truncated=True) == run_trace().prefix(2)


def test_a_complete_prefix_is_a_valid_trace() -> None:
    text = good_text()
    for n in range(1, 5):
        prefix = "".join(text.splitlines(keepends=True)[:n])
        assert fx.trace.decode_trace(prefix) == run_trace().prefix(n - 1)


def test_a_last_line_without_newline_that_parses_is_kept() -> None:
    assert fx.trace.decode_trace(good_text().rstrip("\n")) == run_trace()


def test_blank_lines_are_ignored_and_counted() -> None:
    text = good_text().replace("\n", "\n\n", 1)
    assert fx.trace.decode_trace(text) == run_trace()
    with pytest.raises(fx.trace.TraceDecodeError, match="trace line 4"):
        fx.trace.decode_trace(replace_line(text, 4, "[]"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the trace is empty"),
        ("  \n\n", "the trace is empty"),
        ("not json\n", "the header is not valid JSON"),
        ("[1, 2]\n", "starts with a header object"),
        (
            '{"format": "tower_llm_fx.trace", "version": 1, "library_version": "0", "exchanges": []}\nmore\n',
            "must be the only thing",
        ),
    ],
)
def test_garbage_is_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(fx.trace.TraceDecodeError, match=message):
        fx.trace.decode_trace(text)


def test_document_errors_name_the_exchange() -> None:
    document = fx.trace.trace_to_json(run_trace())
    document["exchanges"][1]["result"]["content"] = 5
    with pytest.raises(
        fx.trace.TraceDecodeError, match=re.escape("field exchanges[1].result: invalid ToolResult")
    ):
        fx.trace.trace_from_json(document)
    with pytest.raises(fx.trace.TraceDecodeError, match="field exchanges: expected a list"):
        fx.trace.trace_from_json({**document, "exchanges": None})


def test_errors_can_name_their_source() -> None:
    err = fx.trace.TraceDecodeError("broken", line=3, field="effect")
    assert str(err.at("runs/a.jsonl")) == "trace runs/a.jsonl, line 3, field effect: broken"


def test_sharing_survives_more_distinct_messages_than_the_cross_trace_cache_holds() -> None:
    many = tuple(fx.user(f"message {i}") for i in range(5000))
    first = fx.ModelCall(model="m", messages=many)
    reply = fx.ModelReply(message=fx.assistant("a reply after 5000 messages"))
    second = fx.ModelCall(model="m", messages=(fx.user("a new conversation"), reply.message))
    trace = fx.trace.Trace(
        exchanges=(
            fx.trace.Exchange(effect=first, result=reply),
            fx.trace.Exchange(effect=second, result=reply),
        )
    )
    decoded = fx.trace.decode_trace(fx.trace.encode_trace(trace))
    assert decoded == trace
    effect = decoded.exchanges[1].effect
    assert isinstance(effect, fx.ModelCall)
    assert effect.messages[1] is decoded.exchanges[0].result.message


# -- format versions: v1 files (class-name tags) still load -------------------------

# What tower_llm_fx wrote for run_trace() in format v1 (before wire names, and before
# ToolCall had its ``agent`` field), verbatim.
V1_FILE = r"""{"format":"tower_llm_fx.trace","version":1,"library_version":"0.1.0","created_at":"2025-01-01T00:00:00+00:00","agent":"calc","model":"m","tags":{"v":"1"}}
{"i":0,"effect":{"type":"ModelCall","model":"m","messages":[{"type":"SystemMessage","content":"You add numbers."},{"type":"UserMessage","content":"2+3?","name":null}],"tools":[{"type":"ToolSpec","name":"add","description":"Add.","parameters":"{\"type\":\"object\"}","strict":false}],"params":{"type":"ModelParams","temperature":0.5,"top_p":null,"max_tokens":null,"max_completion_tokens":null,"reasoning_effort":null,"tool_choice":null,"parallel_tool_calls":null,"response_format":null,"stop":["END"],"seed":null,"presence_penalty":null,"frequency_penalty":null,"user":null,"metadata":null,"extra":null}},"result":{"type":"ModelReply","message":{"type":"AssistantMessage","content":null,"tool_calls":[{"type":"ToolCallRequest","id":"c1","name":"add","arguments":"{\"a\": 2, \"b\": 3}"}],"refusal":null,"name":null},"usage":{"type":"Usage","prompt_tokens":0,"completion_tokens":0},"finish_reason":"tool_calls","model":null,"id":null}}
{"i":1,"effect":{"type":"ToolCall","id":"c1","name":"add","arguments":"{\"a\": 2, \"b\": 3}"},"result":{"type":"ToolResult","call_id":"c1","name":"add","content":"5","error":null}}
{"i":2,"effect":{"type":"ModelCall","model":"m","messages":{"extends":0,"append":[{"type":"AssistantMessage","content":null,"tool_calls":[{"type":"ToolCallRequest","id":"c1","name":"add","arguments":"{\"a\": 2, \"b\": 3}"}],"refusal":null,"name":null},{"type":"ToolMessage","tool_call_id":"c1","content":"5"}]},"tools":{"same_as":0},"params":{"same_as":0}},"result":{"type":"ModelReply","message":{"type":"AssistantMessage","content":"5","tool_calls":[],"refusal":null,"name":null},"usage":{"type":"Usage","prompt_tokens":9,"completion_tokens":1},"finish_reason":"stop","model":null,"id":null}}
"""


def test_a_v1_file_decodes_to_the_same_trace_as_its_v2_form() -> None:
    expected = run_trace()
    decoded = fx.trace.decode_trace(V1_FILE)
    assert decoded.exchanges == expected.exchanges
    assert decoded.meta == attrs.evolve(expected.meta, format_version=1, library_version="0.1.0")
    assert fx.trace.decode_trace(V1_FILE, allow_truncated=True) == decoded


def test_a_v1_trace_is_written_back_as_v2() -> None:
    text = fx.trace.encode_trace(fx.trace.decode_trace(V1_FILE))
    header, *rows = lines_of(text)
    assert header["version"] == 2
    assert rows[1]["effect"] == {"type": "effect.tool_call", "id": "c1", "name": "add",
                                 "arguments": '{"a": 2, "b": 3}', "agent": None, "context": None}  # fmt: skip
    assert fx.trace.decode_trace(text).exchanges == run_trace().exchanges


def v1_text(trace: fx.trace.Trace) -> str:
    """``trace`` as format v1 wrote it: version 1, class-name tags, no ``agent`` fields."""
    drop = {"effect.tool_call": {"agent"}, "effect.parallel": {"agent"}}
    # split("\n"), not splitlines(): text may hold other line separators (U+2028, ...).
    header, *rows = (json.loads(line) for line in fx.trace.encode_trace(trace).split("\n") if line)
    lines = [{**header, "version": 1}, *(as_v1(row, drop) for row in rows)]
    return "".join(compact_json(line) + "\n" for line in lines)


@given(fxst.traces())
def test_v1_and_v2_files_decode_to_the_same_values(trace: fx.trace.Trace) -> None:
    from_v1 = fx.trace.decode_trace(v1_text(trace))
    from_v2 = fx.trace.decode_trace(fx.trace.encode_trace(trace))
    assert (from_v1.meta.format_version, from_v2.meta.format_version) == (1, 2)
    # v1 data has no ``agent`` field: it decodes to the default, None.
    unset = tuple(_without_agents(ex) for ex in trace.exchanges)
    assert from_v1.exchanges == unset
    assert from_v2.exchanges == trace.exchanges


def _without_agents(ex: fx.trace.Exchange) -> fx.trace.Exchange:
    effect = ex.effect
    if isinstance(effect, fx.ToolCall):
        return attrs.evolve(ex, effect=attrs.evolve(effect, agent=None))
    if isinstance(effect, fx.Parallel):
        calls = tuple(attrs.evolve(c, agent=None) for c in effect.calls)
        return attrs.evolve(ex, effect=attrs.evolve(effect, calls=calls, agent=None))
    return ex


@given(fxst.traces())
def test_v1_documents_decode_too(trace: fx.trace.Trace) -> None:
    document = fx.trace.trace_to_json(trace)
    v1 = {**as_v1(document), "version": 1}
    assert fx.trace.trace_from_json(v1).exchanges == fx.trace.trace_from_json(document).exchanges


RECORDED_V1 = sorted((Path(__file__).resolve().parents[2] / "data" / "v1").glob("*.jsonl"))


def tags_in(data: object) -> set[str]:
    if isinstance(data, dict):
        own = {data["type"]} if isinstance(data.get("type"), str) else set()
        return own.union(*(tags_in(v) for v in data.values()))
    if isinstance(data, list):
        return set().union(*(tags_in(v) for v in data))
    return set()


@pytest.mark.parametrize("path", RECORDED_V1, ids=lambda p: p.name)
def test_recorded_v1_files_decode_and_write_back_as_v2(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    trace = fx.trace.decode_trace(text)
    assert trace.meta.format_version == 1
    assert trace.exchanges
    v1_tags = tags_in([json.loads(line) for line in text.split("\n")[1:] if line])
    assert v1_tags & set(DEFAULT.v1_tags()), "the fixture holds v1 tags"
    again = fx.trace.encode_trace(trace)
    assert not tags_in([json.loads(line) for line in again.split("\n")[1:] if line]) & set(DEFAULT.v1_tags())
    assert fx.trace.decode_trace(again).exchanges == trace.exchanges


def test_an_unknown_tag_in_a_v2_file_says_what_to_do() -> None:
    text = edit_line(good_text(), 3, lambda d: d["result"].update(type="acme.ticket"))
    with pytest.raises(fx.trace.TraceDecodeError, match=re.escape("unknown type 'acme.ticket'")) as info:
        fx.trace.decode_trace(text)
    assert (info.value.line, info.value.field) == (3, "result")
    assert "with_types({'acme.ticket': YourClass})" in str(info.value)


# -- types of your own, through codec= ------------------------------------------------


@attrs.frozen
class CodecTestTicket:
    id: int
    title: str = ""


@attrs.frozen(kw_only=True)
class LookUpTicket(fx.Effect[CodecTestTicket]):
    result_type = CodecTestTicket
    id: int


CODEC = DEFAULT.with_types({"test.ticket": CodecTestTicket, "test.look_up_ticket": LookUpTicket})


def own_trace() -> fx.trace.Trace:
    ex = fx.trace.Exchange(effect=LookUpTicket(id=7), result=CodecTestTicket(id=7, title="refund"))
    return fx.trace.Trace(exchanges=(*run_trace().exchanges, ex))


def test_a_trace_of_our_own_types_round_trips_with_its_codec() -> None:
    trace = own_trace()
    text = fx.trace.encode_trace(trace, codec=CODEC)
    assert lines_of(text)[-1]["effect"] == {"type": "test.look_up_ticket", "id": 7}
    assert fx.trace.decode_trace(text, codec=CODEC) == trace
    document = fx.trace.trace_to_json(trace, codec=CODEC)
    assert fx.trace.trace_from_json(json.loads(json.dumps(document)), codec=CODEC) == trace


def test_without_the_codec_our_own_types_are_refused_clearly() -> None:
    with pytest.raises(TypeError, match="'LookUpTicket' is not in this codec"):
        fx.trace.encode_trace(own_trace())
    text = fx.trace.encode_trace(own_trace(), codec=CODEC)
    with pytest.raises(
        fx.trace.TraceDecodeError, match=re.escape("unknown type 'test.look_up_ticket'")
    ) as info:
        fx.trace.decode_trace(text)
    assert (info.value.line, info.value.field) == (5, "effect")
