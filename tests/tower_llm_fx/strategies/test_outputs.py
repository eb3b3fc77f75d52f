"""The structured-output strategies: what they draw validates (or, for bad texts, does not)."""

from __future__ import annotations

import json
from typing import Any, Literal

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from tower_llm_fx import strategies as fxst
from tower_llm_fx.output import FINAL_ANSWER, output_spec


@attrs.frozen
class Reading:
    sensor: Literal["a", "b"]
    celsius: float
    ok: bool = True


TYPES = [Reading, int, str, list[float], Literal["x", "y"], dict[str, int], tuple[int, str], frozenset[int]]


@given(st.data())
def test_output_json_draws_valid_plain_values(data: st.DataObject) -> None:
    t = data.draw(st.sampled_from(TYPES))
    plain = data.draw(fxst.output_json(t))
    value_json, problems = output_spec(t).check(json.dumps(plain))
    assert problems == () and value_json is not None
    assert json.loads(value_json) == plain


@given(st.data(), st.sampled_from(["json_schema", "tool"]))
def test_output_replies_carry_a_value_the_typed_agent_accepts(data: st.DataObject, mode: Any) -> None:
    t = data.draw(st.sampled_from(TYPES))
    reply = data.draw(fxst.output_replies(t, mode=mode))
    assert bool(reply.message.tool_calls) == (mode == "tool")
    if mode == "tool":
        assert reply.message.tool_calls[0].name == FINAL_ANSWER
    agent = fx.Agent(model="m", output=t, output_mode=mode, max_output_retries=0)
    start = agent.start("go")
    call = agent.step(start)
    assert isinstance(call, fx.ModelCall)
    final = agent.advance(start, call, reply)
    assert final.value_json is not None
    assert isinstance(agent.step(final), fx.Done)


@given(st.data())
def test_bad_output_texts_never_validate(data: st.DataObject) -> None:
    t = data.draw(st.sampled_from(TYPES))
    assert output_spec(t).check(data.draw(fxst.bad_output_texts(t)))[0] is None


def test_a_type_without_a_schema_is_refused() -> None:
    with pytest.raises(fx.ToolSchemaError):
        fxst.output_json(complex)
