"""tower_llm_fx.openai._extra: unknown keys split off, merged back, folded across stream chunks."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from tests.tower_llm_fx.openai._helpers import non_null
from tower_llm_fx.openai._extra import fold_into, fold_meta, merge_extra, split_extra

objects = st.dictionaries(st.from_regex(r"[a-z]{1,4}", fullmatch=True), non_null, max_size=4)


@given(objects, objects)
def test_split_then_merge_gives_the_object_back(known: dict[str, Any], unknown: dict[str, Any]) -> None:
    unknown = {k: v for k, v in unknown.items() if k not in known}
    whole = {**known, **unknown}
    extra = split_extra(whole, set(known))
    assert (extra or {}) == unknown
    rebuilt = merge_extra(dict(known), None if not extra else json.dumps(extra), "a test")
    assert rebuilt == whole


def test_nulls_are_absent_and_nested_objects_merge() -> None:
    assert split_extra({"a": 1, "b": None}, set()) == {"a": 1}
    out = merge_extra({"function": {"name": "f"}}, '{"function": {"x": 1}, "y": 2}', "a call")
    assert out == {"function": {"name": "f", "x": 1}, "y": 2}
    with pytest.raises(fx.ConfigurationError, match="extra sets 'name'"):
        merge_extra({"function": {"name": "f"}}, '{"function": {"name": "g"}}', "a call")


def test_stream_pieces_fold_as_servers_split_them() -> None:
    acc: dict[str, Any] = {}
    for piece in (
        {"t": "ab", "l": [1], "o": {"s": "x"}, "n": 1},
        {"t": "c", "l": [2], "o": {"s": "y"}, "n": 2},
    ):
        fold_into(acc, piece)
    assert acc == {"t": "abc", "l": [1, 2], "o": {"s": "xy"}, "n": 2}
    meta: dict[str, Any] = {}
    for chunk in (
        {"fp": "fp_1", "cites": ["a"], "x_groq": {"id": "q"}},
        {"fp": "fp_1", "cites": ["a"], "x_groq": {"id": "q", "usage": {}}},
    ):
        fold_meta(meta, chunk)
    assert meta == {"fp": "fp_1", "cites": ["a"], "x_groq": {"id": "q", "usage": {}}}


@given(st.lists(st.text(max_size=4), max_size=5))
def test_string_pieces_concatenate_in_order(pieces: list[str]) -> None:
    acc: dict[str, Any] = {}
    for p in pieces:
        fold_into(acc, {"k": p})
    assert acc.get("k", "") == "".join(pieces)
