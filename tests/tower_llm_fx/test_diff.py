"""Field-level diffs: what differs between two values, down to a JSON argument."""

from __future__ import annotations

from hypothesis import given

import tower_llm_fx as fx
import tower_llm_fx.testing
from tower_llm_fx import strategies as fxst
from tower_llm_fx._diff import ABSENT, diff_paths


def test_equal_values_have_no_differences() -> None:
    call = fx.ToolCall(id="c", name="add")
    assert list(diff_paths(call, call)) == []
    assert fx.testing.field_diff(call, fx.ToolCall(id="c", name="add")) == "  (no field differences)"


def test_tool_arguments_are_compared_as_json() -> None:
    a = fx.ToolCall(id="c", name="add", arguments='{"a": 2, "b": 3, "opts": {"round": true}}')
    b = fx.ToolCall(id="c", name="add", arguments='{"b": 4, "a": 2, "opts": {"round": false}, "c": 1}')
    assert list(diff_paths(a, b)) == [
        ('arguments["b"]', 3, 4),
        ('arguments["opts"]["round"]', True, False),
        ('arguments["c"]', ABSENT, 1),
    ]


def test_same_json_different_text_is_shown_as_text() -> None:
    a = fx.ToolCall(id="c", name="add", arguments='{"a": 1}')
    b = fx.ToolCall(id="c", name="add", arguments='{"a":1}')
    assert list(diff_paths(a, b)) == [("arguments", '{"a": 1}', '{"a":1}')]


def test_messages_added_or_removed_are_listed() -> None:
    base = (fx.user("a"), fx.user("b"))
    a = fx.ModelCall(model="m", messages=base)
    b = fx.ModelCall(model="m", messages=(*base, fx.user("c")))
    assert list(diff_paths(a, b)) == [("messages (length)", 2, 3), ("messages[2]", ABSENT, fx.user("c"))]
    assert list(diff_paths(b, a))[1] == ("messages[2]", fx.user("c"), ABSENT)
    assert "messages[2]: <absent> -> UserMessage(content='c', name=None)" in fx.testing.field_diff(a, b)


def test_model_params_differences_name_the_knob() -> None:
    a = fx.ModelCall(model="m", messages=(), params=fx.ModelParams(temperature=0.2))
    b = fx.ModelCall(model="m", messages=(), params=fx.ModelParams(temperature=0.7, extra={"n": 2}))
    assert (
        fx.testing.field_diff(a, b) == "  params.temperature: 0.2 -> 0.7\n  params.extra: None -> '{\"n\":2}'"
    )


def test_long_strings_are_shown_around_the_first_difference() -> None:
    a = fx.user("x" * 500 + "the end")
    b = fx.user("x" * 500 + "the END")
    text = fx.testing.field_diff(a, b)
    assert text.startswith("  content (from char 464): '…")
    assert "the end'" in text
    assert "the END'" in text


def test_the_number_of_lines_is_limited() -> None:
    a = fx.ModelCall(model="m", messages=tuple(fx.user(str(i)) for i in range(30)))
    b = fx.ModelCall(model="m", messages=tuple(fx.user(str(-i)) for i in range(30)))
    lines = fx.testing.field_diff(a, b, limit=5).splitlines()
    assert len(lines) == 6
    assert lines[-1] == "  ... (more differences)"


@given(fxst.effects(), fxst.effects())
def test_different_values_always_have_a_difference(a: fx.Effect[object], b: fx.Effect[object]) -> None:
    assert (a == b) == (list(diff_paths(a, b)) == [])
