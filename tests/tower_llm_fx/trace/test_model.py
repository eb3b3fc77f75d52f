"""Trace values: exchanges are checked when built, headers hold tags, ids are safe file names."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.trace
from tower_llm_fx import strategies as fxst
from tower_llm_fx.trace._model import new_exchange

CALL = fx.ToolCall(id="c1", name="add", arguments='{"a": 2, "b": 3}')
OK = fx.ToolResult.success(call_id="c1", name="add", content="5")
MODEL = fx.ModelCall(model="m", messages=(fx.user("hi"),))
REPLY = fx.ModelReply(message=fx.assistant("hello"))


def test_an_exchange_pairs_an_effect_with_a_result_that_answers_it() -> None:
    assert fx.trace.Exchange(effect=CALL, result=OK).result is OK
    with pytest.raises(
        TypeError, match="a ToolCall is answered by a ToolResult, but the result is a ModelReply"
    ):
        fx.trace.Exchange(effect=CALL, result=REPLY)
    with pytest.raises(TypeError, match="effect must be an Effect"):
        fx.trace.Exchange(effect="ToolCall", result=OK)  # type: ignore[arg-type]


def test_a_parallel_is_one_exchange_answered_by_results_in_call_order() -> None:
    batch = fx.Parallel(calls=(CALL, fx.ToolCall(id="c2", name="add")))
    two = (OK, fx.ToolResult.success(call_id="c2", name="add", content="0"))
    assert fx.trace.Exchange(effect=batch, result=two).result == two
    with pytest.raises(TypeError, match="Parallel of 2 calls is answered by a tuple of 2 ToolResults"):
        fx.trace.Exchange(effect=batch, result=(OK,))
    with pytest.raises(TypeError, match="answered by a tuple"):
        new_exchange(batch, (OK, REPLY))


def test_new_exchange_checks_like_the_constructor() -> None:
    assert new_exchange(MODEL, REPLY) == fx.trace.Exchange(effect=MODEL, result=REPLY)
    with pytest.raises(TypeError, match="ModelCall is answered by a ModelReply"):
        new_exchange(MODEL, OK)
    with pytest.raises(TypeError, match="effect must be an Effect"):
        new_exchange(object(), OK)  # type: ignore[arg-type]


def test_trace_meta_tags_are_sorted_string_pairs() -> None:
    meta = fx.trace.TraceMeta(agent="calc", tags={"b": "2", "a": "1"})
    assert meta.tags == (("a", "1"), ("b", "2"))
    assert meta.tag("a") == "1"
    assert meta.tag("missing", "x") == "x"
    assert fx.trace.TraceMeta(tags=[("k", "v")]).tags == (("k", "v"),)
    assert meta.library_version == fx.__version__
    assert meta.format_version == fx.trace.TRACE_FORMAT_VERSION
    with pytest.raises(TypeError, match="must map str to str"):
        fx.trace.TraceMeta(tags={"n": 1})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="mapping of str to str"):
        fx.trace.TraceMeta(tags="tag")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="format_version must be a positive int"):
        fx.trace.TraceMeta(format_version=0)


def test_trace_prefix_keeps_the_header() -> None:
    trace = fx.trace.Trace(
        meta=fx.trace.TraceMeta(agent="a"), exchanges=[fx.trace.Exchange(effect=CALL, result=OK)] * 3
    )
    assert trace.prefix(2).exchanges == trace.exchanges[:2]
    assert trace.prefix(2).meta == trace.meta
    with pytest.raises(ValueError, match="count must be >= 0"):
        trace.prefix(-1)
    with pytest.raises(TypeError, match=r"exchanges\[1\] is a ToolCall, not an Exchange"):
        fx.trace.Trace(exchanges=[fx.trace.Exchange(effect=CALL, result=OK), CALL])  # type: ignore[list-item]


@pytest.mark.parametrize(
    "bad",
    ["", "../x", "a/b", "a\\b", ".hidden", "-x", "a..b", "x" * 201, "naïve", "a b", "a\nb", "abc\n", None, 3],
)
def test_unsafe_trace_ids_are_refused(bad: object) -> None:
    with pytest.raises(fx.ConfigurationError, match="is not allowed"):
        fx.trace.check_trace_id(bad)


@given(
    st.text(alphabet=st.characters(codec="ascii"), max_size=20),
    st.characters(categories=["Cc"]),
    st.text(alphabet=st.characters(codec="ascii"), max_size=20),
)
def test_trace_ids_with_a_control_character_are_refused(before: str, control: str, after: str) -> None:
    # `$` matches before a final newline, so "abc\n" used to pass (and became "abc\n.jsonl").
    with pytest.raises(fx.ConfigurationError, match="is not allowed"):
        fx.trace.check_trace_id("run" + before + control + after)
    with pytest.raises(fx.ConfigurationError, match="is not allowed"):
        fx.trace.check_trace_id("run-1" + control)


@pytest.mark.parametrize("good", ["a", "run-1", "2025-01-01T12_00.x", "A_b-C.d", "x" * 200])
def test_safe_trace_ids_pass(good: str) -> None:
    assert fx.trace.check_trace_id(good) == good


@given(fxst.traces())
def test_traces_are_json_values(trace: fx.trace.Trace) -> None:
    assert fx.from_json(fx.to_json(trace)) == trace
    assert hash(trace) == hash(fx.from_json(fx.to_json(trace)))
