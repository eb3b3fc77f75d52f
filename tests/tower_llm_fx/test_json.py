"""`tower_llm_fx._json`: the JSON texts the core stores and writes.

Covers: `compact_json` (no whitespace, key order kept, non-ASCII kept, a lone surrogate anywhere makes
the whole document ASCII-escaped, always encodable as UTF-8, exact round trip through ``json.loads``,
NaN and infinity refused); `canonical_json` (sorted keys, JSON text normalised, equal documents give
equal texts, errors that say what was wrong); `canonical_json_or_none`; `loads_object`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tower_llm_fx._json import canonical_json, canonical_json_or_none, compact_json, loads_object
from tower_llm_fx.serde import compact_json as public_compact_json

SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")


def _no_pairs(text: str) -> str:
    """Split high+low surrogate pairs: JSON reads an escaped pair back as one character."""
    return PAIR.sub(lambda m: f"{m.group()[0]} {m.group()[1]}", text)


# Text that sometimes holds lone surrogates (as models emit them), which st.text() never draws.
texts = st.text(st.characters() | SURROGATES, max_size=12).map(_no_pairs)
finite = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | finite | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


def test_the_public_name_is_this_function() -> None:
    assert public_compact_json is compact_json


# ---------------------------------------------------------------- compact_json


def test_compact_json_has_no_whitespace_and_keeps_key_order() -> None:
    assert compact_json({"b": [1, 2], "a": {"c": None}}) == '{"b":[1,2],"a":{"c":null}}'


def test_non_ascii_text_is_written_as_is() -> None:
    assert compact_json(["Zoë", "请", "☀", "🙂"]) == '["Zoë","请","☀","🙂"]'


def test_a_lone_surrogate_makes_the_whole_document_ascii() -> None:
    text = compact_json({"name": "Zoë", "bad": "x\udc80y"})
    assert text == '{"name":"Zo\\u00eb","bad":"x\\udc80y"}'
    assert text.isascii()
    assert json.loads(text) == {"name": "Zoë", "bad": "x\udc80y"}


def test_a_surrogate_in_a_key_is_escaped_too() -> None:
    text = compact_json({"\ud800": 1})
    assert text == '{"\\ud800":1}'
    text.encode("utf-8")


def test_two_halves_of_a_surrogate_pair_read_back_as_one_character() -> None:
    # JSON's rule, not ours: an escaped high+low pair means the one code point they encode.
    halves = "\ud83d\ude42"  # e.g. two streamed deltas, each ending or starting mid-character
    text = compact_json(halves)
    assert text == '"\\ud83d\\ude42"'
    assert json.loads(text) == "\U0001f642"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, [1.0, {"x": math.nan}]])
def test_nan_and_infinity_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        compact_json(bad)


def test_values_json_cannot_hold_are_refused() -> None:
    with pytest.raises(TypeError):
        compact_json({"x": object()})


@given(json_values)
def test_compact_json_round_trips_and_is_always_utf8(value: Any) -> None:
    text = compact_json(value)
    text.encode("utf-8")  # never raises: safe for files and databases
    assert json.loads(text) == value


@given(json_values)
def test_only_documents_with_a_lone_surrogate_are_escaped(value: Any) -> None:
    text = compact_json(value)
    if _utf8_safe(value):
        assert text == json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        assert text.isascii()


def _utf8_safe(value: Any) -> bool:
    """Whether every string in ``value`` (keys included) can be encoded as UTF-8."""
    if isinstance(value, str):
        return not any(0xD800 <= ord(ch) <= 0xDFFF for ch in value)
    if isinstance(value, list):
        return all(_utf8_safe(v) for v in value)
    if isinstance(value, dict):
        return all(_utf8_safe(k) and _utf8_safe(v) for k, v in value.items())
    return True


# ---------------------------------------------------------------- canonical_json


def test_canonical_json_sorts_keys_at_every_depth() -> None:
    assert (
        canonical_json({"b": {"d": 1, "c": 2}, "a": [{"z": 0, "y": 1}]})
        == '{"a":[{"y":1,"z":0}],"b":{"c":2,"d":1}}'
    )


def test_a_string_is_taken_as_json_text() -> None:
    assert canonical_json('{ "b" : 1,\n "a" : "é" }') == '{"a":"é","b":1}'
    assert canonical_json('"just text"') == '"just text"'


def test_text_that_is_not_json_says_so() -> None:
    with pytest.raises(ValueError, match=r"expected JSON text or a JSON-compatible value, got 'nope'"):
        canonical_json("nope")


@pytest.mark.parametrize("bad", [{"x": object()}, {"x": math.nan}, {1j: 1}])
def test_values_json_cannot_hold_raise_value_error(bad: object) -> None:
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        canonical_json(bad)


def test_canonical_json_or_none_keeps_none() -> None:
    assert canonical_json_or_none(None) is None
    assert canonical_json_or_none({"b": 1, "a": 2}) == '{"a":2,"b":1}'
    assert canonical_json_or_none("null") == "null"  # JSON null given as text is a document


@given(st.dictionaries(st.text(max_size=6), st.integers() | st.text(max_size=6), max_size=6))
def test_canonical_text_does_not_depend_on_key_order_and_is_a_fixed_point(doc: dict[str, Any]) -> None:
    reversed_doc = dict(reversed(list(doc.items())))
    text = canonical_json(doc)
    assert canonical_json(reversed_doc) == text
    assert canonical_json(text) == text
    assert json.loads(text) == doc


# ---------------------------------------------------------------- loads_object


def test_loads_object_returns_a_dict() -> None:
    assert loads_object('{"a": [1]}') == {"a": [1]}


@pytest.mark.parametrize(("text", "kind"), [("[1]", "list"), ("3", "int"), ("null", "NoneType")])
def test_loads_object_refuses_other_documents(text: str, kind: str) -> None:
    with pytest.raises(ValueError, match=f"expected a JSON object, got {kind}"):
        loads_object(text)


def test_loads_object_refuses_text_that_is_not_json() -> None:
    with pytest.raises(ValueError):
        loads_object("{")


# --- hostile JSON fails typed (issue item 1) ---------------------------------

import contextlib  # noqa: E402

from hypothesis import settings  # noqa: E402

from tower_llm_fx import MalformedResponse, ProviderError  # noqa: E402
from tower_llm_fx._json import MAX_JSON_DEPTH, JSONDepthError, loads_bounded  # noqa: E402
from tower_llm_fx.openai import OpenAIStream, from_openai_response  # noqa: E402
from tower_llm_fx.trace import TraceDecodeError, decode_trace  # noqa: E402

_DEEP = "[" * 100_000 + "]" * 100_000


def test_loads_bounded_refuses_deep_documents() -> None:
    with pytest.raises(JSONDepthError):
        loads_bounded(_DEEP)
    with pytest.raises(JSONDepthError):
        loads_bounded("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1))
    assert loads_bounded("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None


def test_deep_wire_and_trace_documents_fail_typed() -> None:
    with pytest.raises(MalformedResponse):
        from_openai_response(_DEEP)
    with pytest.raises(MalformedResponse):
        OpenAIStream().feed(_DEEP)
    with pytest.raises(TraceDecodeError):
        decode_trace(_DEEP)


_hostile = st.one_of(
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 3000).map(lambda n: '{"a":' * n + "1" + "}" * n),
    st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
    st.text(max_size=64),
    st.sampled_from(["1", "null", "[]", '"x"', '{"choices": 1}', '{"choices": [1]}', '{"error": []}']),
)


@settings(max_examples=150, deadline=None)
@given(_hostile)
def test_fuzz_decoders_raise_only_typed_errors(text: str) -> None:
    for decode, expected in (
        (from_openai_response, ProviderError),
        (lambda t: OpenAIStream().feed(t), ProviderError),
        (decode_trace, TraceDecodeError),
    ):
        with contextlib.suppress(expected):
            decode(text)
