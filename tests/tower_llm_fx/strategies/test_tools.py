"""Tool strategies (``strategies/_tools.py``): `tool_specs` draws valid specs and
`arguments_for` draws argument text valid against a spec's schema, for drawn
specs, the default tools, ``@tool``-derived schemas and the other shapes it claims."""

from __future__ import annotations

import enum
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import tower_llm_fx as fx
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst
from tower_llm_fx.strategies._tools import DEFAULT_TOOLS


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


# --------------------------------------------------------------------------- tool_specs


@given(fxst.tool_specs())
def test_tool_specs_are_valid_schemas_a_request_accepts(spec: fx.ToolSpec) -> None:
    jsonschema.Draft202012Validator.check_schema(spec.schema())
    call = fx.ModelCall(model="m", messages=(fx.user("hi"),), tools=(spec,))
    assert fx.validation.validate_model_call(call) == ()
    assert fx.from_json(fx.to_json(spec)) == spec


@given(fxst.tool_specs(names=st.sampled_from(["lookup", "refund"])))
def test_tool_specs_take_their_names_from_the_names_given(spec: fx.ToolSpec) -> None:
    assert spec.name in ("lookup", "refund")


# --------------------------------------------------------------------------- arguments_for


@given(st.sampled_from(DEFAULT_TOOLS).flatmap(lambda s: st.tuples(st.just(s), fxst.arguments_for(s))))
def test_arguments_for_the_default_tools_pass_the_strictest_check(drawn: tuple[fx.ToolSpec, str]) -> None:
    spec, arguments = drawn
    call = fx.AssistantMessage(
        tool_calls=(fx.ToolCallRequest(id="call_1", name=spec.name, arguments=arguments),)
    )
    messages = (
        fx.user("hi"),
        call,
        fx.ToolMessage(tool_call_id="call_1", content="ok"),
        fx.assistant("Done."),
    )
    strict = fx.validation.ValidationPolicy.strict()
    assert fx.validation.validate_conversation(messages, strict, tools=DEFAULT_TOOLS) == ()


def test_optional_properties_are_sometimes_given_and_sometimes_not() -> None:
    search = next(s for s in DEFAULT_TOOLS if s.name == "search")
    find_ = settings(database=None, max_examples=200, phases=[Phase.generate])
    with_limit = find(fxst.arguments_for(search), lambda a: "limit" in json.loads(a), settings=find_)
    without = find(fxst.arguments_for(search), lambda a: "limit" not in json.loads(a), settings=find_)
    assert "query" in json.loads(with_limit) and "query" in json.loads(without)


SHAPES: dict[str, Any] = {
    "type": "object",
    "properties": {
        "mode": {"const": "fast"},
        "either": {"anyOf": [{"type": "integer", "minimum": 3, "maximum": 5}, {"type": "string"}]},
        "one": {"oneOf": [{"type": "boolean"}, {"type": "null"}]},
        "maybe": {"type": ["string", "null"]},
        "nothing": {"type": "null"},
        "pair": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}]},
        "tags": {"type": "array", "items": {"type": "integer"}},
        "ratio": {"type": "number", "minimum": 0, "maximum": 1},
        "nested": {
            "type": "object",
            "properties": {"depth": {"type": "integer", "minimum": 1, "maximum": 3}},
            "required": ["depth"],
        },
    },
    "required": ["mode", "either", "one", "maybe", "nothing", "pair", "tags", "ratio", "nested"],
    "additionalProperties": False,
}


@given(fxst.arguments_for(fx.ToolSpec(name="shapes", parameters=SHAPES)))
def test_arguments_for_handles_const_any_of_nulls_tuples_and_nested_objects(arguments: str) -> None:
    value = json.loads(arguments)
    jsonschema.validate(value, SHAPES)
    assert set(value) == set(SHAPES["required"])


def test_a_spec_without_parameters_gets_an_empty_object() -> None:
    now = next(s for s in DEFAULT_TOOLS if s.name == "get_time")
    assert find(fxst.arguments_for(now), lambda a: True) == "{}"


@pytest.mark.xfail(
    strict=True,
    raises=InvalidArgument,
    reason="arguments_for bounds an integer/number by [minimum or -1000, maximum or 1000], so a schema "
    "with minimum > 1000 (or maximum < -1000) makes hypothesis raise InvalidArgument instead of drawing",
)
@given(st.data())
def test_arguments_for_draws_for_bounds_beyond_the_default_range(data: st.DataObject) -> None:
    spec = fx.ToolSpec(
        name="reserve",
        parameters={
            "type": "object",
            "properties": {
                "seats": {"type": "integer", "minimum": 5000},
                "price": {"type": "number", "maximum": -2000},
            },
            "required": ["seats", "price"],
        },
    )
    jsonschema.validate(json.loads(data.draw(fxst.arguments_for(spec))), spec.schema())
