"""A tool call carrying its ToolContext: equal to the bare call, kept on the wire, checked when built."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from tower_llm_fx.durable import ToolContext, context_of, keyed
from tower_llm_fx.serde import DEFAULT

ids = st.text(min_size=1, max_size=8)


@given(ids, ids, st.integers(min_value=1, max_value=10))
def test_a_keyed_call_equals_the_bare_one_and_its_context_survives_the_wire(
    call_id: str, run_id: str, attempt: int
) -> None:
    bare = fx.ToolCall(id=call_id, name="pay", arguments='{"a": 1}', agent="shop")
    call = keyed(bare, run_id, f"{run_id}/0/{call_id}", attempt)
    assert call == bare and hash(call) == hash(bare)
    assert call.context == ToolContext(
        call_id=call_id, run_id=run_id, idempotency_key=f"{run_id}/0/{call_id}", attempt=attempt
    )
    # keyed() builds without validators: the result is what the validating constructor builds.
    built = fx.ToolCall(id=call_id, name="pay", arguments='{"a": 1}', agent="shop", context=call.context)
    assert (built, built.context) == (call, call.context)
    back = DEFAULT.decode(DEFAULT.encode(call))
    assert back == bare and back.context == call.context  # == alone would not show a lost context
    assert context_of(call) is call.context


def test_a_bare_call_gets_a_context_holding_only_its_id() -> None:
    assert context_of(fx.ToolCall(id="c1", name="add")) == ToolContext(call_id="c1")
    assert "context" not in repr(fx.ToolCall(id="c1", name="add"))  # shown only when set


def test_a_context_must_be_a_tool_context_of_the_same_call() -> None:
    with pytest.raises(ValueError, match="context of call 'c1'"):
        fx.ToolCall(id="c2", name="pay", context=ToolContext(call_id="c1"))
    with pytest.raises(TypeError, match="ToolContext or None"):
        fx.ToolCall(id="c2", name="pay", context="r/0/c2")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes a ToolCall"):
        keyed(fx.ModelCall(model="m", messages=[fx.user("hi")]), "r", "k", 1)  # type: ignore[arg-type]
