"""tower_llm_fx.validation._checks: message and tool names, tool call arguments (JSON object,
schema), the violations of one assistant message's tool calls, and the memos behind them."""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx._unchecked import unchecked
from tower_llm_fx.validation._checks import (
    _MEMO_LIMIT,
    GOOD_TOOL_NAMES,
    arguments_problem,
    call_violations,
    name_ok,
    schema_problem,
    spec_map,
    tool_name_ok,
)

from ._helpers import ADD, DEFAULT, A, P, T, U, kinds

# --------------------------------------------------------------------------- examples


@pytest.mark.parametrize("name", ["Ada Lovelace", "a/b", "<|im_start|>", ""])
def test_invalid_name(name: str) -> None:
    assert kinds([U(content="hi", name=name)]) == [("invalid_name", 0)]
    assert kinds([U(content="hi", name=name)], P(check_names=False)) == []


def test_names_the_api_accepts() -> None:
    assert kinds([U(content="hi", name="ada-lovelace_1"), U(content="hi", name="Zoë")]) == []


def test_empty_tool_call_id() -> None:
    (v,) = fx.validation.validate_conversation(
        [U(content="q"), A(None, ("c1", "f"), ("", "g")), T(tool_call_id="c1", content="")]
    )
    assert (v.kind, v.index) == ("empty_tool_call_id", 1)
    assert "position(s) 1" in v.explanation


def test_tool_call_id_too_long() -> None:
    long_id = "toolu_" + "x" * 40
    ms = (U(content="q"), A(None, (long_id, "f")), T(tool_call_id=long_id, content="1"))
    assert kinds(ms) == [("tool_call_id_too_long", 1)]
    assert kinds(ms, P(max_tool_call_id_length=None)) == []


def test_duplicate_tool_call_id_within_one_message() -> None:
    ms = (U(content="q"), A(None, ("c1", "f"), ("c1", "g")), T(tool_call_id="c1", content="1"))
    (v,) = fx.validation.validate_conversation(ms)
    assert (v.kind, v.index) == ("duplicate_tool_call_id", 1)
    assert "'c1'" in v.explanation


def test_ids_reused_across_turns_are_fine_unless_forbidden() -> None:
    ms = (
        U(content="q"),
        A(None, ("call_0", "f")),
        T(tool_call_id="call_0", content="1"),
        A(None, ("call_0", "f")),
        T(tool_call_id="call_0", content="2"),
        A("done"),
    )
    assert kinds(ms) == []
    (v,) = fx.validation.validate_conversation(ms, P(allow_reused_tool_call_ids=False))
    assert (v.kind, v.index) == ("duplicate_tool_call_id", 3)
    assert "first used at 1" in v.explanation


def test_invalid_tool_name() -> None:
    ms = (U(content="q"), A(None, ("c1", "functions.add")), T(tool_call_id="c1", content="1"))
    assert kinds(ms) == [("invalid_tool_name", 1)]


def test_invalid_tool_arguments_only_when_checked() -> None:
    ms: tuple[fx.Message, ...] = (
        U(content="q"),
        A(None, ("c1", "f", '{"a": '), ("c2", "f", "[1]"), ("c3", "f", "")),
    )
    ms = (
        *ms,
        T(tool_call_id="c1", content="1"),
        T(tool_call_id="c2", content="2"),
        T(tool_call_id="c3", content="3"),
    )
    assert kinds(ms) == []
    (v,) = fx.validation.validate_conversation(ms, P(check_tool_arguments=True))
    assert (v.kind, v.index) == ("invalid_tool_arguments", 1)
    assert "call 0: not valid JSON" in v.explanation
    assert "call 1: a JSON list, not an object" in v.explanation
    assert "call 2" not in v.explanation  # blank arguments mean {}


def test_unknown_tool_and_schema_mismatch_need_the_tools() -> None:
    ms = (
        U(content="q"),
        A(None, ("c1", "add", '{"a": 1}'), ("c2", "mul", '{"a": 1, "b": 2}')),
        T(tool_call_id="c1", content="?"),
        T(tool_call_id="c2", content="?"),
    )
    assert kinds(ms, tools=(ADD,)) == []
    out = fx.validation.validate_conversation(ms, P(check_tool_schemas=True), tools=(ADD,))
    assert [(v.kind, v.index) for v in out] == [("unknown_tool", 1), ("tool_arguments_mismatch", 1)]
    assert "'mul'" in out[0].explanation
    assert "'b' is a required property" in out[1].explanation


# --------------------------------------------------------------------------- names

_TOOL_NAME_CHARS = set(string.ascii_letters + string.digits + "_-")


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("add", True),
        ("get-time_2", True),
        ("A", True),
        ("functions.add", False),
        ("", False),
        ("a b", False),
        ("caf\u00e9", False),
        ("a\n", False),
    ],
)
def test_tool_name_ok_examples(name: str, ok: bool) -> None:
    assert tool_name_ok(name) is ok
    assert tool_name_ok(name) is ok  # the second answer may come from the memo


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("ada", True),
        ("Zo\u00eb", True),
        ("a.b-c_d", True),
        ("a b", False),
        ("a\tb", False),
        ("a|b", False),
        ("a\\b", False),
        ("a>b", False),
        ("", False),
    ],
)
def test_name_ok_examples(name: str, ok: bool) -> None:
    assert name_ok(name) is ok
    assert name_ok(name) is ok


@given(st.text(max_size=8))
def test_tool_name_ok_is_letters_digits_underscore_and_dash(name: str) -> None:
    expected = bool(name) and set(name) <= _TOOL_NAME_CHARS
    assert tool_name_ok(name) is expected
    assert tool_name_ok(name) is expected


@given(st.text(max_size=8))
def test_name_ok_rejects_exactly_empty_names_whitespace_and_the_forbidden_characters(name: str) -> None:
    expected = bool(name) and not any(c.isspace() or c in "<|\\/>" for c in name)
    assert name_ok(name) is expected


def test_the_name_memo_stays_bounded_and_only_holds_good_names() -> None:
    for i in range(_MEMO_LIMIT + 10):
        assert tool_name_ok(f"memo_{i}")
    assert not tool_name_ok("not ok")
    assert 0 < len(GOOD_TOOL_NAMES) <= _MEMO_LIMIT
    assert f"memo_{_MEMO_LIMIT + 9}" in GOOD_TOOL_NAMES
    assert "not ok" not in GOOD_TOOL_NAMES


# --------------------------------------------------------------------------- arguments


@pytest.mark.parametrize("arguments", ["{}", "", "   \n", '{"a": 1}', ' {"nested": {"x": [1, 2]}} '])
def test_arguments_problem_accepts_objects_and_blank_text(arguments: str) -> None:
    assert arguments_problem(arguments) is None


@pytest.mark.parametrize(
    ("arguments", "why"),
    [
        ("[1]", "a JSON list, not an object"),
        ("1", "a JSON int, not an object"),
        ('"x"', "a JSON str, not an object"),
        ("true", "a JSON bool, not an object"),
    ],
)
def test_arguments_problem_names_the_json_type_that_is_not_an_object(arguments: str, why: str) -> None:
    assert arguments_problem(arguments) == why


@pytest.mark.parametrize("arguments", ['{"a": ', "{", "nope", "{'a': 1}"])
def test_arguments_problem_reports_invalid_json(arguments: str) -> None:
    why = arguments_problem(arguments)
    assert why is not None
    assert why.startswith("not valid JSON (")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)


@given(_JSON)
def test_arguments_problem_is_none_exactly_for_json_objects(value: Any) -> None:
    text = json.dumps(value)
    assert (arguments_problem(text) is None) is isinstance(value, dict)


# --------------------------------------------------------------------------- schemas


def test_schema_problem_none_when_the_arguments_fit() -> None:
    assert schema_problem(ADD, '{"a": 1, "b": 2}') is None


def test_schema_problem_reports_the_path_and_root_errors() -> None:
    assert schema_problem(ADD, '{"a": 1}') == "(root): 'b' is a required property"
    assert schema_problem(ADD, '{"a": "x", "b": 2}') == "a: 'x' is not of type 'integer'"
    # blank arguments mean {}: both properties are missing, one error is picked
    assert schema_problem(ADD, "  ") == "(root): 'a' is a required property"


def test_schema_problem_picks_the_same_error_whatever_the_key_order() -> None:
    one = schema_problem(ADD, '{"a": "x", "b": "y"}')
    other = schema_problem(ADD, '{"b": "y", "a": "x"}')
    assert one == other == "a: 'x' is not of type 'integer'"


def test_a_tool_without_parameters_accepts_any_object() -> None:
    assert schema_problem(fx.ToolSpec(name="now"), '{"anything": [1]}') is None


# --------------------------------------------------------------------------- call_violations and spec_map


def _calls(*calls: tuple[str, str, str]) -> tuple[fx.ToolCallRequest, ...]:
    return tuple(fx.ToolCallRequest(id=i, name=n, arguments=a) for i, n, a in calls)


def test_call_violations_records_first_uses_and_reports_reuse() -> None:
    policy = P(allow_reused_tool_call_ids=False)
    first_use: dict[str, int] = {}
    assert call_violations(2, _calls(("c1", "f", "{}"), ("c2", "f", "{}")), policy, first_use, None) == []
    assert first_use == {"c1": 2, "c2": 2}
    (v,) = call_violations(5, _calls(("c2", "f", "{}"), ("c3", "f", "{}")), policy, first_use, None)
    assert (v.kind, v.index) == ("duplicate_tool_call_id", 5)
    assert "'c2' (first used at 2)" in v.explanation
    assert first_use == {"c1": 2, "c2": 2, "c3": 5}


def test_call_violations_does_not_call_an_invalid_name_unknown_too() -> None:
    out = call_violations(1, _calls(("c1", "functions.add", "{}")), DEFAULT, None, {"add": ADD})
    assert [v.kind for v in out] == ["invalid_tool_name"]


def test_call_violations_skips_the_schema_of_arguments_already_reported_as_not_objects() -> None:
    policy = P(check_tool_arguments=True, check_tool_schemas=True)
    out = call_violations(1, _calls(("c1", "add", "[1]")), policy, None, {"add": ADD})
    assert [v.kind for v in out] == ["invalid_tool_arguments"]


def test_non_object_arguments_break_the_schema_when_only_schemas_are_checked() -> None:
    ms = (U(content="q"), A(None, ("c1", "add", "[1]")), T(tool_call_id="c1", content="?"))
    assert kinds(ms, P(check_tool_schemas=True), tools=(ADD,)) == [("tool_arguments_mismatch", 1)]


def test_spec_map_only_when_schemas_are_checked() -> None:
    other = fx.ToolSpec(name="add", description="second")
    assert spec_map((ADD,), DEFAULT) is None
    assert spec_map((), P(check_tool_schemas=True)) == {}
    assert spec_map((ADD, other), P(check_tool_schemas=True)) == {"add": other}


# --------------------------------------------------------------------------- hostile input

DEEP_ARRAY = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000


@pytest.mark.parametrize("arguments", [DEEP_ARRAY, DEEP_OBJECT], ids=["array", "object"])
def test_deep_arguments_are_a_problem_not_a_recursion_error(arguments: str) -> None:
    assert arguments_problem(arguments) == "not valid JSON (the JSON nests deeper than 512 levels)"
    assert schema_problem(ADD, arguments) == "not valid JSON (the JSON nests deeper than 512 levels)"
    ms = (U(content="q"), A(None, ("c1", "add", arguments)), T(tool_call_id="c1", content="?"))
    assert kinds(ms, P(check_tool_schemas=True), tools=(ADD,)) == [("tool_arguments_mismatch", 1)]
    assert kinds(ms, P.strict(), tools=(ADD,)) == [("invalid_tool_arguments", 1)]


def test_schema_problem_explains_text_that_is_not_json() -> None:
    assert schema_problem(ADD, "{nope").startswith("not valid JSON (Expecting property name")  # type: ignore[union-attr]


def test_a_recursive_schema_over_deep_arguments_is_a_problem_not_a_recursion_error() -> None:
    nested = fx.ToolSpec(
        name="tree",
        parameters={
            "type": "object",
            "properties": {"a": {"$ref": "#/$defs/n"}},
            "$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}},
        },
    )
    arguments = '{"a":' + "[" * 500 + "]" * 500 + "}"  # within MAX_JSON_DEPTH: it parses
    assert (
        schema_problem(nested, arguments)
        == "the arguments nest too deeply to check against the tool's schema"
    )
    assert schema_problem(nested, '{"a": [[], [[]]]}') is None


def test_an_unusable_schema_is_a_problem_not_an_exception() -> None:
    deep = unchecked(fx.ToolSpec, name="f", parameters='{"type":"object","x":' + DEEP_ARRAY + "}")
    assert "the tool's parameters schema cannot be read (JSONDepthError" in str(schema_problem(deep, "{}"))
    invalid = fx.ToolSpec(name="g", parameters={"type": "object", "properties": {"a": {"type": "frob"}}})
    assert "is not a valid JSON schema (SchemaError" in str(schema_problem(invalid, '{"a": 1}'))
    ms = (U(content="q"), A(None, ("c1", "g", '{"a": 1}')), T(tool_call_id="c1", content="?"))
    assert kinds(ms, P(check_tool_schemas=True), tools=(invalid,)) == [("tool_arguments_mismatch", 1)]


@given(
    st.text(max_size=60)
    | st.builds(lambda n, c: c[0] * n + c[1] * n, st.integers(0, 3000), st.sampled_from(["[]", "{}"]))
)
def test_schema_problem_is_total(arguments: str) -> None:
    why = schema_problem(ADD, arguments)
    assert why is None or isinstance(why, str)


# --------------------------------------------------------------------------- content parts


@pytest.mark.parametrize(
    ("part", "why"),
    [
        (fx.TextPart(text=""), None),
        (fx.OtherPart(kind="anything"), None),
        (fx.ImagePart(url="https://x/y.png", detail="auto"), None),
        (fx.ImagePart(url="http://x/y.png"), None),
        (fx.ImagePart(url="data:image/png;base64,AA=="), None),
        (fx.ImagePart(url="x/y.png"), "image url 'x/y.png' is neither an http(s) URL nor a data: URL"),
        (fx.ImagePart(url=""), "image url '' is neither an http(s) URL nor a data: URL"),
        (fx.ImagePart(url="https://x", detail="HIGH"), "image detail 'HIGH' is not 'auto', 'low' or 'high'"),
        (fx.AudioPart(data="AA==", format="mp3"), None),
        (fx.AudioPart(data="AA==", format="ogg"), "audio format 'ogg' is not 'wav' or 'mp3'"),
        (fx.FilePart(data="data:application/pdf;base64,AA==", filename="a.pdf"), None),
        ("text", "str is not a content part; use TextPart, ImagePart, AudioPart, FilePart or OtherPart"),
    ],
)
def test_part_problem_examples(part: object, why: str | None) -> None:
    assert fx.validation.part_problem(part) == why


def test_part_problem_clips_a_long_url() -> None:
    why = fx.validation.part_problem(fx.ImagePart(url="ftp://" + "x" * 10_000))
    assert why is not None and len(why) < 150 and "..." in why


@given(st.text(max_size=12))
def test_only_http_https_and_data_urls_are_image_urls(url: str) -> None:
    ok = url.lower().startswith(("http://", "https://", "data:"))
    assert (fx.validation.part_problem(fx.ImagePart(url=url)) is None) == ok
