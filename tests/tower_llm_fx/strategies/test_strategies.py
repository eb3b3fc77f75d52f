"""The public strategies: they draw what they promise, honour their knobs, and
hypothesis is only imported with them."""

from __future__ import annotations

import enum
import json
import subprocess
import sys
from typing import Any

import jsonschema
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst

ADD = fx.ToolSpec(
    name="add",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
        "required": ["a", "b"],
        "additionalProperties": False,
    },
)


def test_importing_the_package_does_not_import_hypothesis() -> None:
    code = "import sys, tower_llm_fx; print('hypothesis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@given(st.data())
def test_conversations_are_valid_under_the_policy_they_were_drawn_for(data: st.DataObject) -> None:
    policy = data.draw(fxst.validation_policies(), label="policy")
    tools = data.draw(st.lists(fxst.tool_specs(), min_size=1, max_size=3, unique_by=lambda s: s.name))
    messages = data.draw(fxst.conversations(policy=policy, tools=tools))
    assert fx.validation.validate_conversation(messages, policy, tools=tools) == ()


@given(fxst.conversations(policy=fx.validation.ValidationPolicy.strict(), tools=(ADD,)))
def test_strict_conversations_are_valid_under_every_policy(messages: tuple[fx.Message, ...]) -> None:
    for policy in (
        fx.validation.ValidationPolicy(),
        fx.validation.ValidationPolicy.tower_llm(),
        fx.validation.ValidationPolicy.strict(),
    ):
        assert fx.validation.validate_conversation(messages, policy, tools=(ADD,)) == ()


@given(fxst.conversations(system=True, min_turns=2, max_turns=2, tool_call_density=0.0))
def test_knobs_system_turns_and_no_tools(messages: tuple[fx.Message, ...]) -> None:
    assert isinstance(messages[0], fx.SystemMessage)
    assert not any(isinstance(m, fx.ToolMessage) for m in messages)
    assert sum(isinstance(m, fx.UserMessage) for m in messages) >= 2


@given(fxst.conversations(system=False, tool_call_density=1.0, max_parallel_calls=2, max_tool_rounds=1))
def test_knobs_no_system_prompt_and_every_turn_calls_tools(messages: tuple[fx.Message, ...]) -> None:
    assert not isinstance(messages[0], fx.SystemMessage)
    with_calls = [m for m in messages if isinstance(m, fx.AssistantMessage) and m.tool_calls]
    assert with_calls
    assert all(1 <= len(m.tool_calls) <= 2 for m in with_calls)


def test_parallel_calls_are_drawn() -> None:
    found = find(
        fxst.conversations(tool_call_density=1.0, max_parallel_calls=4),
        lambda ms: any(isinstance(m, fx.AssistantMessage) and len(m.tool_calls) == 4 for m in ms),
        settings=settings(database=None, max_examples=300, phases=[Phase.generate]),
    )
    assert fx.validation.validate_conversation(found) == ()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_turns": 3, "max_turns": 1},
        {"tool_call_density": 1.5},
        {"max_parallel_calls": 0},
        {"policy": "strict"},
    ],
)
def test_bad_knobs_are_rejected_when_the_strategy_is_built(kwargs: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        fxst.conversations(**kwargs)


@given(st.data())
def test_arguments_for_validate_against_the_schema(data: st.DataObject) -> None:
    spec = data.draw(fxst.tool_specs())
    arguments = data.draw(fxst.arguments_for(spec))
    jsonschema.validate(json.loads(arguments), spec.schema())


class Unit(enum.Enum):
    C = "celsius"
    F = "fahrenheit"


@fx.tool
def weather(
    city: str, unit: Unit = Unit.C, days: int | None = None, where: tuple[float, float] = (0, 0)
) -> str:
    """Weather."""
    return city


@given(fxst.arguments_for(weather.spec))
def test_arguments_for_handles_schemas_derived_by_the_tool_decorator(arguments: str) -> None:
    jsonschema.validate(json.loads(arguments), weather.spec.schema())


@given(fxst.effects())
def test_effects_are_json_values(effect: fx.Effect[Any]) -> None:
    assert fx.from_json(json.loads(json.dumps(fx.to_json(effect)))) == effect


@given(fxst.model_calls())
def test_model_calls_are_valid_requests(call: fx.ModelCall) -> None:
    assert fx.validation.validate_model_call(call) == ()


@given(st.one_of(fxst.results(), fxst.stop_reasons(), fxst.usages()))
def test_results_are_json_values(result: object) -> None:
    assert fx.from_json(json.loads(json.dumps(fx.to_json(result)))) == result


@given(fxst.run_states())
def test_run_states_are_valid_possibly_mid_step(state: fx.RunState) -> None:
    assert (
        fx.validation.validate_conversation(
            state.messages, fx.validation.ValidationPolicy(allow_pending_tool_calls=True)
        )
        == ()
    )
    assert fx.from_json(fx.to_json(state)) == state


@given(fxst.run_states(finished=False))
def test_the_agent_step_accepts_any_unfinished_state(state: fx.RunState) -> None:
    agent = fx.Agent(model="m", tools=())
    out = agent.step(state)
    assert isinstance(out, (fx.Effect, fx.Done))
    if fx.pending_tool_calls(state.messages):
        assert isinstance(out, (fx.ToolCall, fx.Parallel))


@given(st.lists(fxst.messages(), max_size=6))
def test_messages_are_valid_values(messages: list[fx.Message]) -> None:
    assert fx.from_json(fx.to_json(messages)) == tuple(messages)


@given(fxst.model_scripts())
def test_model_scripts_end_with_a_plain_answer(script: tuple[fx.ModelReply, ...]) -> None:
    assert script[-1].message.content == "Done."
    assert not script[-1].message.tool_calls


@pytest.mark.parametrize(
    ("what", "predicate"),
    [
        ("a storm", lambda r: len(r.message.tool_calls) >= 8),
        ("a repeated id", lambda r: len({c.id for c in r.message.tool_calls}) < len(r.message.tool_calls)),
        ("an empty id", lambda r: any(c.id == "" for c in r.message.tool_calls)),
        ("an unknown tool", lambda r: any(c.name == "no_such_tool" for c in r.message.tool_calls)),
        ("truncated arguments", lambda r: any(c.arguments == '{"a": ' for c in r.message.tool_calls)),
        ("a bare refusal", lambda r: r.message.refusal is not None and r.message.content is None),
        ("an empty reply", lambda r: r.message == fx.AssistantMessage()),
    ],
)
def test_model_scripts_misbehave_in_every_documented_way(what: str, predicate: Any) -> None:
    found = find(
        fxst.model_scripts(max_calls=12),
        lambda script: any(predicate(r) for r in script),
        settings=settings(database=None, max_examples=2000, phases=[Phase.generate]),
    )
    assert any(predicate(r) for r in found), what
