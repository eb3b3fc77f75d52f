"""`tower_llm_fx._results`: token usage, model replies and tool results.

Covers: `Usage` validation, ``total_tokens`` and ``+`` (a monoid: ``Usage()`` is the identity on both
sides, sums equal the validated constructor's), ``trusted_usage`` building exactly what ``Usage(...)``
builds; `ModelReply` defaults and validation; `ToolError` kinds; `ToolResult` successes and
failures, ``to_message`` and ``as_result``. JSON round trips are in test_serde.py.
"""

from __future__ import annotations

import typing

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from returns.result import Failure, Success

import tower_llm_fx as fx
from tower_llm_fx import strategies as fxst
from tower_llm_fx._results import TOOL_ERROR_KINDS, trusted_usage

counts = st.integers(min_value=0, max_value=10**9)


def test_tool_results_as_returns_results() -> None:
    from returns.result import Failure, Success

    ok = fx.ToolResult.success(call_id="c", name="t", content="1")
    bad = fx.ToolResult.failure(call_id="c", name="t", kind="denied", message="no")
    assert ok.as_result() == Success("1")
    assert bad.as_result() == Failure(fx.ToolError(kind="denied", message="no"))
    assert bad.to_message() == fx.ToolMessage(tool_call_id="c", content="error (denied): no")


# ---------------------------------------------------------------- Usage


def test_usage_defaults_to_zero() -> None:
    assert (fx.Usage().prompt_tokens, fx.Usage().completion_tokens, fx.Usage().total_tokens) == (0, 0, 0)


def test_total_tokens_is_the_sum_of_both_counts() -> None:
    assert fx.Usage(prompt_tokens=7, completion_tokens=5).total_tokens == 12


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"prompt_tokens": -1}, ValueError),
        ({"completion_tokens": -1}, ValueError),
        ({"prompt_tokens": 1.0}, TypeError),
        ({"completion_tokens": "3"}, TypeError),
    ],
)
def test_usage_counts_are_non_negative_ints(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        fx.Usage(**kwargs)  # type: ignore[arg-type]


def test_adding_zero_returns_the_same_value() -> None:
    u = fx.Usage(prompt_tokens=3, completion_tokens=4)
    assert u + fx.Usage() is u
    assert fx.Usage() + u == u


def test_sum_needs_a_usage_start() -> None:
    parts = [fx.Usage(prompt_tokens=1), fx.Usage(completion_tokens=2), fx.Usage(prompt_tokens=3)]
    assert sum(parts, fx.Usage()) == fx.Usage(prompt_tokens=4, completion_tokens=2)


@given(counts, counts)
def test_trusted_usage_is_what_the_validated_constructor_builds(prompt: int, completion: int) -> None:
    trusted = trusted_usage(prompt, completion)
    checked = fx.Usage(prompt_tokens=prompt, completion_tokens=completion)
    assert type(trusted) is fx.Usage
    assert trusted == checked
    assert hash(trusted) == hash(checked)
    assert repr(trusted) == repr(checked)
    assert trusted.total_tokens == checked.total_tokens
    assert fx.to_json(trusted) == fx.to_json(checked)
    assert attrs.asdict(trusted) == attrs.asdict(checked)


def test_a_trusted_usage_is_frozen_like_any_other() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        trusted_usage(1, 2).prompt_tokens = 5  # type: ignore[misc]


@given(counts, counts, counts, counts)
def test_sums_equal_the_validated_constructor(p1: int, c1: int, p2: int, c2: int) -> None:
    total = fx.Usage(prompt_tokens=p1, completion_tokens=c1) + fx.Usage(
        prompt_tokens=p2, completion_tokens=c2
    )
    assert total == fx.Usage(prompt_tokens=p1 + p2, completion_tokens=c1 + c2)
    assert hash(total) == hash(fx.Usage(prompt_tokens=p1 + p2, completion_tokens=c1 + c2))


@given(fxst.usages(), fxst.usages(), fxst.usages())
def test_addition_is_a_commutative_monoid(a: fx.Usage, b: fx.Usage, c: fx.Usage) -> None:
    zero = fx.Usage()
    assert a + zero == a == zero + a
    assert a + b == b + a
    assert (a + b) + c == a + (b + c)
    assert (a + b).total_tokens == a.total_tokens + b.total_tokens


# ---------------------------------------------------------------- ModelReply


def test_model_reply_defaults() -> None:
    reply = fx.ModelReply(message=fx.assistant("hi"))
    assert (reply.usage, reply.finish_reason, reply.model, reply.id) == (fx.Usage(), "stop", None, None)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"message": fx.user("not an assistant")},
        {"message": fx.assistant("x"), "usage": {"prompt_tokens": 1}},
        {"message": fx.assistant("x"), "finish_reason": None},
        {"message": fx.assistant("x"), "model": 4},
        {"message": fx.assistant("x"), "id": 4},
    ],
)
def test_model_reply_fields_are_type_checked(kwargs: dict[str, object]) -> None:
    with pytest.raises(TypeError):
        fx.ModelReply(**kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------- ToolError and ToolResult


def test_tool_error_kinds_are_the_literal_in_order() -> None:
    assert typing.get_args(fx.ToolErrorKind) == TOOL_ERROR_KINDS
    assert TOOL_ERROR_KINDS[:3] == ("unknown_tool", "invalid_arguments", "tool_raised")
    assert len(set(TOOL_ERROR_KINDS)) == len(TOOL_ERROR_KINDS) == 8
    assert TOOL_ERROR_KINDS[-1] == "outcome_unknown"  # durable runs (issue 17)


@pytest.mark.parametrize("kind", TOOL_ERROR_KINDS)
def test_every_documented_kind_is_accepted(kind: fx.ToolErrorKind) -> None:
    assert fx.ToolError(kind=kind, message="m").kind == kind


def test_an_unknown_error_kind_is_rejected() -> None:
    with pytest.raises(ValueError, match="kind"):
        fx.ToolError(kind="exploded", message="m")  # type: ignore[arg-type]


def test_a_success_has_no_error() -> None:
    ok = fx.ToolResult.success(call_id="c1", name="add", content="3")
    assert ok == fx.ToolResult(call_id="c1", name="add", content="3")
    assert ok.error is None
    assert not ok.is_error


def test_a_failure_tells_the_model_the_kind_and_the_message() -> None:
    bad = fx.ToolResult.failure(call_id="c1", name="add", kind="invalid_arguments", message="a: not an int")
    assert bad.is_error
    assert bad.error == fx.ToolError(kind="invalid_arguments", message="a: not an int")
    assert bad.content == "error (invalid_arguments): a: not an int"
    assert bad.to_message() == fx.ToolMessage(
        tool_call_id="c1", content="error (invalid_arguments): a: not an int"
    )


def test_a_failure_needs_a_known_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        fx.ToolResult.failure(call_id="c1", name="add", kind="oops", message="m")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"call_id": 1, "name": "t", "content": "x"},
        {"call_id": "c", "name": None, "content": "x"},
        {"call_id": "c", "name": "t", "content": 3},
        {"call_id": "c", "name": "t", "content": "x", "error": "boom"},
    ],
)
def test_tool_result_fields_are_type_checked(kwargs: dict[str, object]) -> None:
    with pytest.raises(TypeError):
        fx.ToolResult(**kwargs)  # type: ignore[arg-type]


@given(fxst.tool_results())
def test_as_result_and_to_message_agree_with_the_fields(result: fx.ToolResult) -> None:
    message = result.to_message()
    assert (message.tool_call_id, message.content) == (result.call_id, result.content)
    viewed = result.as_result()
    if result.is_error:
        assert result.error is not None
        assert viewed == Failure(result.error)
        assert result.content == f"error ({result.error.kind}): {result.error.message}"
    else:
        assert viewed == Success(result.content)
