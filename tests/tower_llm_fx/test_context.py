"""ToolContext and idempotency keys (kernel), and how @tool declares a context parameter."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from tower_llm_fx.durable import ToolContext, idempotency_key

_ids = st.text(st.characters(categories=["L", "N"], include_characters="_-"), min_size=1, max_size=12)


def test_a_context_is_checked_data() -> None:
    ctx = ToolContext(call_id="c1", run_id="r", idempotency_key="r/0/c1", attempt=2)
    assert ctx == ToolContext(call_id="c1", run_id="r", idempotency_key="r/0/c1", attempt=2)
    assert hash(ctx) == hash(ToolContext(call_id="c1", run_id="r", idempotency_key="r/0/c1", attempt=2))
    with pytest.raises(ValueError, match="attempt"):
        ToolContext(call_id="c1", attempt=0)
    with pytest.raises(TypeError):
        ToolContext(call_id=1)  # type: ignore[arg-type]


@given(run=_ids, at=st.integers(0, 10**6), call=_ids)
def test_the_key_is_deterministic_and_names_run_position_and_call(run: str, at: int, call: str) -> None:
    key = idempotency_key(run, at, call)
    assert key == idempotency_key(run, at, call)
    assert key.split("/") == [run, str(at), call]


@given(a=st.tuples(_ids, st.integers(0, 99), _ids), b=st.tuples(_ids, st.integers(0, 99), _ids))
def test_different_calls_get_different_keys(a: tuple[str, int, str], b: tuple[str, int, str]) -> None:
    assert (idempotency_key(*a) == idempotency_key(*b)) == (a == b)


def test_a_tool_declares_its_context_parameter_and_the_model_never_sees_it() -> None:
    @fx.tool
    def pay(amount: int, ctx: ToolContext) -> str:
        """Pay."""
        return f"{amount} {ctx.idempotency_key}"

    assert pay.context == "ctx"
    assert set(pay.spec.schema()["properties"]) == {"amount"}
    assert pay.spec.schema()["required"] == ["amount"]

    @fx.tool
    def plain(amount: int) -> int:
        """No context."""
        return amount

    assert plain.context is None


def test_a_typed_tool_names_its_context_parameter() -> None:
    echo = fx.tool_typed("echo", "Echo.", {"type": "object"}, lambda ctx: ctx.call_id, context="ctx")
    assert echo.context == "ctx"
    assert fx.tool_typed("echo", "Echo.", {"type": "object"}, lambda: "x").context is None
