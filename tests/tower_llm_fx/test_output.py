"""Structured output, pure: schemas per kind of type, validation, the mode choice, the retry
policy, and the typed agent's step/advance (no event loop)."""

from __future__ import annotations

import dataclasses
import enum
import json
import pickle
from typing import Any, Literal, TypedDict

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.openai
import tower_llm_fx.validation
from tower_llm_fx import strategies as fxst
from tower_llm_fx.output import (
    FINAL_ANSWER,
    OutputReady,
    OutputSpec,
    output_feedback,
    output_mode,
    output_spec,
    retry_output,
)


@attrs.frozen
class City:
    """A city.

    Args:
        name: the city's name
    """

    name: str
    population: int = attrs.field(validator=attrs.validators.ge(0))
    capital: bool = False


@dataclasses.dataclass(frozen=True)
class Point:
    x: float
    y: float


class Movie(TypedDict):
    title: str
    year: int


class Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


@attrs.frozen
class Trip:
    stops: tuple[City, ...]
    colour: Colour
    note: str | None


def schema(t: Any) -> dict[str, Any]:
    return output_spec(t).schema_dict()


# --------------------------------------------------------------------------- schemas


def test_an_attrs_class_is_an_object_schema_with_every_property_required() -> None:
    spec = output_spec(City)
    assert (spec.name, spec.wrapped, spec.strict) == ("City", False, True)
    assert spec.schema_dict() == {
        "type": "object",
        "description": "A city.",
        "properties": {
            "name": {"type": "string", "description": "the city's name"},
            "population": {"type": "integer"},
            "capital": {"type": "boolean"},
        },
        "required": ["name", "population", "capital"],  # strict: a default does not make it optional
        "additionalProperties": False,
    }


def test_a_dataclass_and_a_typeddict_are_object_schemas() -> None:
    assert schema(Point)["properties"] == {"x": {"type": "number"}, "y": {"type": "number"}}
    assert schema(Movie) == {
        "type": "object",
        "properties": {"title": {"type": "string"}, "year": {"type": "integer"}},
        "required": ["title", "year"],
        "additionalProperties": False,
    }
    assert not output_spec(Point).wrapped and not output_spec(Movie).wrapped


@pytest.mark.parametrize(
    ("t", "inner"),
    [
        (int, {"type": "integer"}),
        (str, {"type": "string"}),
        (float, {"type": "number"}),
        (bool, {"type": "boolean"}),
        (Literal["yes", "no"], {"enum": ["yes", "no"], "type": "string"}),
        (Colour, {"enum": ["red", "green"], "type": "string"}),
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (int | None, {"anyOf": [{"type": "integer"}, {"type": "null"}]}),
    ],
)
def test_any_other_type_is_wrapped_in_a_value_object(t: Any, inner: dict[str, Any]) -> None:
    spec = output_spec(t)
    assert spec.wrapped and spec.strict and spec.name in {"output", "int", "str", "float", "bool", "Colour"}
    assert spec.schema_dict() == {
        "type": "object",
        "properties": {"value": inner},
        "required": ["value"],
        "additionalProperties": False,
    }


def test_nested_objects_are_strict_all_the_way_down() -> None:
    stop = schema(Trip)["properties"]["stops"]["items"]
    assert stop["required"] == ["name", "population", "capital"]
    assert stop["additionalProperties"] is False


def test_schemas_strict_mode_cannot_take_are_sent_non_strict() -> None:
    assert not output_spec(dict[str, int]).strict
    assert not output_spec(tuple[int, str]).strict
    assert not output_spec(Any).strict
    assert output_spec(dict[str, int]).response_format()["json_schema"]["strict"] is False


def test_the_request_shapes() -> None:
    spec = output_spec(City)
    assert spec.response_format() == {
        "type": "json_schema",
        "json_schema": {"name": "City", "schema": spec.schema_dict(), "strict": True},
    }
    tool = spec.tool_spec()
    assert (tool.name, tool.strict, tool.schema()) == (FINAL_ANSWER, True, spec.schema_dict())


def test_a_type_without_a_schema_is_refused_at_construction() -> None:
    with pytest.raises(fx.ToolSchemaError, match="cannot derive a JSON schema"):
        output_spec(complex)
    with pytest.raises(fx.ToolSchemaError):
        fx.Agent(model="m", output=object)
    with pytest.raises(fx.ConfigurationError, match="output name"):
        output_spec(int, name="has space")


# --------------------------------------------------------------------------- check / load


@pytest.mark.parametrize(
    ("t", "raw", "value"),
    [
        (City, '{"name": "Oslo", "population": 700000, "capital": true}', City("Oslo", 700000, True)),
        (City, '{"name": "Bergen", "population": 1}', City("Bergen", 1)),  # a default may be left out
        (Point, '{"x": 1, "y": 2.5}', Point(1.0, 2.5)),
        (Movie, '{"title": "Heat", "year": 1995}', {"title": "Heat", "year": 1995}),
        (int, '{"value": 42}', 42),
        (int, "42", 42),  # a bare value is accepted for a wrapped type
        (str, '{"value": "hi"}', "hi"),
        (float, '{"value": 3}', 3.0),
        (bool, '{"value": false}', False),
        (Literal["yes", "no"], '{"value": "no"}', "no"),
        (Colour, '{"value": "green"}', Colour.GREEN),
        (list[int], '{"value": [1, 2]}', [1, 2]),
        (int | None, '{"value": null}', None),
        (
            Trip,
            '{"stops": [{"name": "A", "population": 1, "capital": false}], "colour": "red", "note": null}',
            Trip((City("A", 1),), Colour.RED, None),
        ),
        (City, '```json\n{"name": "Oslo", "population": 1}\n```', City("Oslo", 1)),
    ],
)
def test_a_valid_output_loads_as_the_type(t: Any, raw: str, value: Any) -> None:
    spec = output_spec(t)
    value_json, problems = spec.check(raw)
    assert problems == ()
    assert value_json is not None
    assert spec.load(value_json) == value
    assert type(spec.load(value_json)) is type(value)
    assert spec.parse(raw) == value


@pytest.mark.parametrize(
    ("t", "raw", "problems"),
    [
        (City, '{"name": "Oslo"}', ['$: missing key "population"']),
        (
            City,
            '{"name": 1, "population": "many"}',
            ["$.name: expected a string, got a number", "$.population: expected an integer, got a string"],
        ),
        (City, '{"name": "O", "population": 1, "mayor": "x"}', ['$: unexpected key "mayor"']),
        (City, '{"name": "O", "population": -1}', ["$: 'population' must be >= 0: -1"]),
        (int, '{"value": true}', ["$: expected an integer, got true"]),
        (int, '{"value": 1.5}', ["$: expected an integer, got a number"]),
        (Literal["yes", "no"], '{"value": "maybe"}', ['$: expected one of ["yes", "no"], got "maybe"']),
        (Colour, '{"value": "blue"}', ['$: expected one of ["red", "green"], got "blue"']),
        (list[int], '{"value": [1, "2"]}', ["$[1]: expected an integer, got a string"]),
        (int | None, '{"value": "x"}', ["$: a string matches none of the allowed types"]),
        (Movie, "[]", ["$: expected an object, got an array"]),
        (int, "", ["the reply has no text: reply with the JSON value only"]),
    ],
)
def test_an_invalid_output_says_what_is_wrong_where(t: Any, raw: str, problems: list[str]) -> None:
    assert output_spec(t).check(raw) == (None, tuple(problems))


def test_text_that_is_not_json_is_a_problem_and_parse_raises_typed() -> None:
    value_json, problems = output_spec(City).check("Oslo, about 700k people")
    assert value_json is None and problems[0].startswith("the reply is not JSON")
    with pytest.raises(fx.OutputValidationError) as info:
        output_spec(City).parse("nope")
    assert (info.value.raw, info.value.attempts) == ("nope", 1)
    with pytest.raises(ValueError, match="not a valid City"):
        output_spec(City).load('{"name": "x"}')


def test_the_error_pickles_with_its_details() -> None:
    err = fx.OutputValidationError(raw="{}", problems=('$: missing key "a"',), attempts=3)
    again = pickle.loads(pickle.dumps(err))
    assert (type(again), str(again), again.raw, again.problems, again.attempts) == (
        fx.OutputValidationError,
        str(err),
        "{}",
        ('$: missing key "a"',),
        3,
    )
    assert "3 invalid structured output(s)" in str(err) and "max_output_retries" in str(err)


@given(st.data())
def test_generated_outputs_validate_and_round_trip(data: st.DataObject) -> None:
    t = data.draw(
        st.sampled_from(
            [
                City,
                Point,
                Movie,
                Trip,
                int,
                float,
                bool,
                str,
                Colour,
                list[int],
                Literal["a", "b"],
                int | None,
                dict[str, bool],
            ]
        )
    )
    spec = output_spec(t)
    plain = data.draw(fxst.output_json(t))
    value_json, problems = spec.check(json.dumps(plain))
    assert problems == ()
    assert value_json is not None
    assert spec.check(value_json) == (value_json, ())  # canonical text is a fixed point
    spec.load(value_json)


@given(st.data())
def test_generated_bad_outputs_never_validate(data: st.DataObject) -> None:
    t = data.draw(st.sampled_from([City, Movie, int, Colour, list[int]]))
    raw = data.draw(fxst.bad_output_texts(t))
    value_json, problems = output_spec(t).check(raw)
    assert value_json is None and problems


# --------------------------------------------------------------------------- the pure decisions


@given(st.sampled_from(list(fx.openai.DIALECTS.values())))
def test_auto_uses_json_schema_exactly_where_the_dialect_supports_it(d: fx.openai.Dialect) -> None:
    assert output_mode("auto", d) == ("json_schema" if d.json_schema else "tool")
    assert output_mode("tool", d) == "tool" and output_mode("json_schema", d) == "json_schema"


def test_without_a_dialect_auto_is_json_schema() -> None:
    assert output_mode("auto", None) == "json_schema"


@given(st.integers(0, 6))
def test_the_retry_policy_allows_exactly_max_retries_corrections(max_retries: int) -> None:
    outputs, retries = 1, 0
    while retry_output(retries, max_retries):
        retries += 1
        outputs += 1
    assert outputs == max_retries + 1


@given(
    st.lists(st.text(min_size=1), min_size=1, max_size=4),
    st.sampled_from(["json_schema", "tool"]),
    st.booleans(),
)
def test_feedback_lists_every_problem(problems: list[str], mode: Any, called: bool) -> None:
    text = output_feedback(problems, mode=mode, called=called)
    assert all(f"- {p}" in text for p in problems)
    assert (FINAL_ANSWER in text) == (mode == "tool")


# --------------------------------------------------------------------------- the typed agent


@fx.tool
def lookup(city: str) -> int:
    """Look up a population."""
    return 1


def reply(content: str | None = None, *calls: fx.ToolCallRequest) -> fx.ModelReply:
    return fx.ModelReply(message=fx.assistant(content, *calls))


def final_call(arguments: str, id: str = "fa") -> fx.ToolCallRequest:
    return fx.ToolCallRequest(id=id, name=FINAL_ANSWER, arguments=arguments)


def drive(agent: fx.Agent, replies: list[fx.ModelReply], question: str = "Oslo?") -> fx.RunState:
    """The run loop, pure: model calls answered from ``replies``, tool calls with "1"."""
    state = agent.start(question)
    script = iter(replies)
    while not isinstance(effect := agent.step(state), fx.Done):
        if isinstance(effect, fx.ModelCall):
            result: Any = next(script)
        else:
            assert isinstance(effect, fx.ToolCall)
            result = fx.ToolResult.success(call_id=effect.id, name=effect.name, content="1")
        state = agent.advance(state, effect, result)
    return agent.finish(state, effect)


GOOD = '{"name": "Oslo", "population": 700000, "capital": true}'
BAD = '{"name": "Oslo"}'


def test_json_schema_mode_sends_a_strict_response_format() -> None:
    agent = fx.Agent(model="m", output=City)
    call = agent.step(agent.start("Oslo?"))
    assert isinstance(call, fx.ModelCall)
    assert call.params.response_format is not None
    assert json.loads(call.params.response_format) == output_spec(City).response_format()
    assert call.tools == () and agent.params == fx.ModelParams()  # the agent's own params are untouched


def test_a_valid_reply_ends_the_run_with_the_value() -> None:
    agent = fx.Agent(model="m", output=City)
    final = drive(agent, [reply(GOOD)])
    assert final.stop is not None and final.stop.kind == "output"
    assert final.value == {"name": "Oslo", "population": 700000, "capital": True}
    assert agent.value(final) == City("Oslo", 700000, True)
    assert fx.from_json(fx.to_json(final)) == final  # the value is data


def test_an_invalid_reply_is_fed_back_then_corrected() -> None:
    agent = fx.Agent(model="m", output=City)
    final = drive(agent, [reply(BAD), reply(GOOD)])
    feedback = final.messages[2]
    assert isinstance(feedback, fx.UserMessage)
    assert feedback.content == output_feedback(
        ['$: missing key "population"'], mode="json_schema", called=False
    )
    assert (final.model_calls, final.output_retries, agent.value(final)) == (2, 0, City("Oslo", 700000, True))


@given(st.integers(0, 4), st.integers(0, 4))
def test_invalid_outputs_are_retried_at_most_max_output_retries_times(bad: int, max_retries: int) -> None:
    agent = fx.Agent(model="m", output=City, max_output_retries=max_retries)
    replies = [reply(BAD)] * bad + [reply(GOOD)]
    if bad <= max_retries:
        final = drive(agent, replies)
        assert final.model_calls == bad + 1 and agent.value(final) == City("Oslo", 700000, True)
    else:
        with pytest.raises(fx.OutputValidationError) as info:
            drive(agent, replies)
        assert (info.value.raw, info.value.attempts) == (BAD, max_retries + 1)
        assert info.value.problems == ('$: missing key "population"',)


def test_a_refusal_is_an_invalid_output() -> None:
    agent = fx.Agent(model="m", output=City, max_output_retries=0)
    refused = fx.ModelReply(message=fx.AssistantMessage(refusal="I can't help with that."))
    with pytest.raises(fx.OutputValidationError, match="the model refused"):
        drive(agent, [refused])


def test_tool_mode_offers_a_final_answer_tool_and_forces_it() -> None:
    agent = fx.Agent(model="m", output=int, output_mode="tool")
    call = agent.step(agent.start("2+2?"))
    assert isinstance(call, fx.ModelCall)
    assert call.tools == (output_spec(int).tool_spec(),)
    assert call.params.tool_choice == fx.ToolChoice.function(FINAL_ANSWER)
    assert call.params.response_format is None


@pytest.mark.parametrize(("name", "choice"), [("openai", "required"), ("mistral", "any"), ("zai", None)])
def test_with_other_tools_the_dialect_says_how_to_force_a_call(name: str, choice: str | None) -> None:
    agent = fx.Agent(
        model="m", tools=(lookup,), output=City, output_mode="tool", dialect=fx.openai.dialect(name)
    )
    call = agent.step(agent.start("Oslo?"))
    assert isinstance(call, fx.ModelCall)
    assert [t.name for t in call.tools] == ["lookup", FINAL_ANSWER]
    assert call.params.tool_choice == (None if choice is None else fx.ToolChoice(mode=choice))  # type: ignore[arg-type]


def test_auto_picks_the_tool_for_a_dialect_without_json_schema() -> None:
    agent = fx.Agent(model="deepseek-chat", output=City, dialect=fx.openai.dialect("deepseek"))
    call = agent.step(agent.start("Oslo?"))
    assert isinstance(call, fx.ModelCall)
    assert [t.name for t in call.tools] == [FINAL_ANSWER] and call.params.response_format is None


def test_tool_mode_answers_the_final_call_and_keeps_the_conversation_valid() -> None:
    agent = fx.Agent(model="m", tools=(lookup,), output=City, output_mode="tool")
    final = drive(
        agent,
        [
            reply(None, fx.ToolCallRequest(id="c1", name="lookup", arguments='{"city": "Oslo"}')),
            reply(None, final_call(BAD)),
            reply(None, final_call(GOOD, id="fb")),
        ],
    )
    assert agent.value(final) == City("Oslo", 700000, True)
    assert [type(m).__name__ for m in final.messages] == [
        "UserMessage",
        "AssistantMessage",
        "ToolMessage",
        "AssistantMessage",
        "ToolMessage",
        "AssistantMessage",
        "ToolMessage",
    ]
    error, accepted = final.messages[4], final.messages[6]
    assert isinstance(error, fx.ToolMessage) and str(error.content).startswith(
        "error: the final answer is not valid"
    )
    assert isinstance(accepted, fx.ToolMessage) and accepted.content == "accepted"
    assert final.steps == 3 and final.stop is not None and final.stop.kind == "output"
    assert fx.validation.validate_conversation(final.messages) == ()


def test_tool_mode_runs_other_tools_called_with_the_final_answer() -> None:
    agent = fx.Agent(model="m", tools=(lookup,), output=City, output_mode="tool")
    both = reply(
        None, final_call(GOOD), fx.ToolCallRequest(id="c1", name="lookup", arguments='{"city": "x"}')
    )
    final = drive(agent, [both])
    assert final.model_calls == 1 and final.tool_invocations == 1 and final.steps == 1
    assert agent.value(final) == City("Oslo", 700000, True)
    assert fx.validation.validate_conversation(final.messages) == ()


def test_tool_mode_accepts_valid_json_text_and_asks_for_the_tool_otherwise() -> None:
    agent = fx.Agent(model="m", output=City, output_mode="tool")
    assert agent.value(drive(agent, [reply(GOOD)])) == City("Oslo", 700000, True)
    final = drive(agent, [reply("Oslo has 700k people."), reply(None, final_call(GOOD))])
    nudge = final.messages[2]
    assert isinstance(nudge, fx.UserMessage) and f"calling the {FINAL_ANSWER} tool" in str(nudge.content)


def test_a_reply_with_tool_calls_is_not_an_output_and_clears_an_old_value() -> None:
    agent = fx.Agent(model="m", tools=(lookup,), output=City)
    first = drive(agent, [reply(GOOD)])
    again = attrs.evolve(first, messages=(*first.messages, fx.user("And Bergen?")), stop=None)
    call = agent.step(again)
    assert isinstance(call, fx.ModelCall)  # an old value does not end the next turn
    working = agent.advance(
        again, call, reply(None, fx.ToolCallRequest(id="c9", name="lookup", arguments='{"city": "B"}'))
    )
    assert working.value_json is None


def test_the_output_event_is_reported_once_when_the_value_arrives() -> None:
    agent = fx.Agent(model="m", output=int)
    start = agent.start("2+2?")
    call = agent.step(start)
    assert isinstance(call, fx.ModelCall)
    bad = agent.advance(start, call, reply("four"))
    assert tuple(agent.events(start, bad)) == ()
    call = agent.step(bad)
    assert isinstance(call, fx.ModelCall)
    good = agent.advance(bad, call, reply('{"value": 4}'))
    assert tuple(agent.events(bad, good)) == (OutputReady(step=2, value_json="4"),)
    assert fx.from_json(fx.to_json(OutputReady(step=2, value_json="4"))) == OutputReady(
        step=2, value_json="4"
    )


def test_misconfigurations_say_what_to_do() -> None:
    with pytest.raises(fx.ConfigurationError, match="response_format"):
        fx.Agent(model="m", output=int, params=fx.ModelParams(response_format={"type": "json_object"}))
    named = fx.tool_typed(FINAL_ANSWER, "x", {"type": "object"}, lambda: None)
    with pytest.raises(fx.ConfigurationError, match="rename the tool"):
        fx.Agent(model="m", tools=(named,), output=int, output_mode="tool")
    with pytest.raises(fx.ConfigurationError, match="max_output_retries"):
        fx.Agent(model="m", output=int, max_output_retries=-1)
    with pytest.raises(fx.ConfigurationError, match="dialect"):
        fx.Agent(model="m", output=int, dialect="openai")  # type: ignore[arg-type]
    with pytest.raises(fx.ConfigurationError, match="no output type"):
        fx.Agent(model="m").value(fx.RunState())


def test_the_builder_sets_the_output() -> None:
    agent = (
        fx.Agent.builder("m")
        .output(City, mode="tool", max_retries=1)
        .dialect(fx.openai.dialect("groq"))
        .build()
    )
    assert agent == fx.Agent(
        model="m", output=City, output_mode="tool", max_output_retries=1, dialect=fx.openai.dialect("groq")
    )
    assert isinstance(agent.output, OutputSpec) and agent.output.type is City
    assert fx.Agent(model="m", output=output_spec(City)) == fx.Agent(model="m", output=City)


def test_an_unknown_output_mode_is_refused() -> None:
    with pytest.raises(fx.ConfigurationError, match="output_mode must be"):
        fx.Agent(model="m", output=int, output_mode="xml")  # type: ignore[arg-type]
