"""`tower_llm_fx._serde` and the public `tower_llm_fx.serde`: `Codec`, `DEFAULT` and the exact JSON codec.

Covers: exact round trips (``from_json(to_json(v)) == v`` through real JSON text) for messages,
effects, results, states and enums; what is written (a wire-name ``"type"`` tag, every init field
with its alias, defaults included, ``init=False`` fields left out); that format v1 data (class-name
tags, no ``agent`` fields) decodes to the same values; every `DecodeError` path (not JSON data, no
tag, unknown tag, unknown field, invalid value or enum value), with the path it names; what
`to_json` refuses; `Codec.with_types` (a new codec; name clashes, a class under two names, non-attrs
classes, names that are not strings or not wire names, v1 tags of your own), `types`, `v1_tags`,
`class_of`, `name_of`; that there is no registry left; that the families' tags (a
``tower_llm_fx.resilience.BreakerState``, a ``tower_llm_fx.sessions.SaveSession``) decode in a fresh
interpreter that imported only ``tower_llm_fx``, importing only the family they need; and that
`DecodeError` survives pickling.
"""

from __future__ import annotations

import enum
import json
import pickle
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx._serde as serde_module
import tower_llm_fx.resilience
import tower_llm_fx.serde
import tower_llm_fx.sessions
from tests.support.wire_v1 import as_v1
from tower_llm_fx import strategies as fxst
from tower_llm_fx._wire import WIRE_NAME
from tower_llm_fx.serde import DEFAULT, Codec

text = st.text(max_size=20)
ids = st.text(alphabet="abc123_", min_size=1, max_size=8)
calls = st.builds(fx.ToolCallRequest, id=ids, name=st.sampled_from(["add", "search"]), arguments=text)
messages = st.one_of(
    st.builds(fx.SystemMessage, content=text),
    st.builds(fx.UserMessage, content=text, name=st.none() | text),
    st.builds(
        fx.AssistantMessage,
        content=st.none() | text,
        tool_calls=st.lists(calls, max_size=3).map(tuple),
        refusal=st.none() | text,
    ),
    st.builds(fx.ToolMessage, tool_call_id=ids, content=text),
)
params = st.builds(
    fx.ModelParams,
    temperature=st.none() | st.floats(0, 2),
    max_tokens=st.none() | st.integers(1, 10_000),
    stop=st.none() | st.lists(text, max_size=2),
    response_format=st.none() | st.just({"type": "json_object"}),
    tool_choice=st.sampled_from(
        [None, "auto", "none", "required", {"type": "function", "function": {"name": "add"}}]
    ),
    extra=st.none() | st.dictionaries(st.sampled_from(["logprobs", "n"]), st.integers(0, 3)),
)
effects = st.one_of(
    st.builds(fx.ModelCall, model=ids, messages=st.lists(messages, max_size=5).map(tuple), params=params),
    st.builds(fx.ToolCall, id=ids, name=ids, arguments=text),
)
results = st.one_of(
    st.builds(
        fx.ModelReply,
        message=st.builds(fx.AssistantMessage, content=text),
        usage=st.builds(fx.Usage, prompt_tokens=st.integers(0, 99), completion_tokens=st.integers(0, 99)),
    ),
    st.builds(fx.ToolResult.success, call_id=ids, name=ids, content=text),
    st.builds(
        fx.ToolResult.failure,
        call_id=ids,
        name=ids,
        kind=st.sampled_from(["tool_raised", "unknown_tool"]),
        message=text,
    ),
)


@given(st.one_of(messages, effects, results))
def test_json_round_trip_is_exact(value: object) -> None:
    data = fx.to_json(value)
    assert fx.from_json(json.loads(json.dumps(data))) == value
    assert hash(value) == hash(fx.from_json(data))


@given(st.lists(messages, max_size=6))
def test_state_round_trip(ms: list[fx.Message]) -> None:
    state = fx.RunState(
        messages=tuple(ms), steps=2, usage=fx.Usage(prompt_tokens=3), stop=fx.StopReason(kind="custom")
    )
    assert fx.from_json(fx.to_json(state)) == state


def test_decode_errors_name_the_path() -> None:
    with pytest.raises(fx.DecodeError, match=r"at \$\.messages\[0\]: unknown type 'Nope'"):
        fx.from_json({"type": "RunState", "messages": [{"type": "Nope"}]})
    with pytest.raises(fx.DecodeError, match="has no field"):
        fx.from_json({"type": "message.user", "content": "x", "colour": 1})
    with pytest.raises(fx.DecodeError, match=r"at \$: invalid UserMessage"):
        fx.from_json({"type": "message.user", "content": 3})
    with pytest.raises(TypeError, match="cannot encode a object"):
        fx.to_json(object())


# ---------------------------------------------------------------- types of our own


@attrs.frozen
class SerdeTestTicket:
    """A user type with a private attribute (alias ``secret``) and a default."""

    id: int
    _secret: str = "s"
    tags: tuple[str, ...] = ()


class SerdeTestColour(enum.Enum):
    RED = "red"
    BLUE = "blue"


CODEC = DEFAULT.with_types({"test.serde_ticket": SerdeTestTicket, "test.serde_colour": SerdeTestColour})


def through_text(value: Any, codec: Codec = DEFAULT) -> Any:
    """Encode, write as JSON text, read back, decode."""
    text = json.dumps(fx.to_json(value, codec=codec), allow_nan=False)
    return fx.from_json(json.loads(text), codec=codec)


def test_a_class_of_our_own_round_trips_with_its_alias() -> None:
    ticket = SerdeTestTicket(id=7, secret="k", tags=("a", "b"))
    assert CODEC.encode(ticket) == {"type": "test.serde_ticket", "id": 7, "secret": "k", "tags": ["a", "b"]}
    assert through_text(ticket, CODEC) == ticket
    assert CODEC.decode(CODEC.encode((ticket, fx.user("hi")))) == (ticket, fx.user("hi"))


def test_an_enum_of_our_own_round_trips_to_the_same_member() -> None:
    assert CODEC.encode(SerdeTestColour.BLUE) == {"type": "test.serde_colour", "value": "blue"}
    assert through_text(SerdeTestColour.BLUE, CODEC) is SerdeTestColour.BLUE
    with pytest.raises(fx.DecodeError, match=r"at \$: 'green' is not a valid SerdeTestColour"):
        CODEC.decode({"type": "test.serde_colour", "value": "green"})


def test_with_types_returns_a_new_codec_and_leaves_the_old_one_alone() -> None:
    assert CODEC is not DEFAULT
    assert "test.serde_ticket" in CODEC.types()
    assert "test.serde_ticket" not in DEFAULT.types()
    with pytest.raises(TypeError, match="'SerdeTestTicket' is not in this codec"):
        fx.to_json(SerdeTestTicket(id=1))
    with pytest.raises(fx.DecodeError, match=re.escape("unknown type 'test.serde_ticket'")):
        fx.from_json({"type": "test.serde_ticket", "id": 1})
    # A codec is a value: the same tables make equal codecs.
    again = DEFAULT.with_types({"test.serde_ticket": SerdeTestTicket, "test.serde_colour": SerdeTestColour})
    assert again == CODEC and hash(again) == hash(CODEC)
    assert again != DEFAULT
    assert repr(DEFAULT) == f"Codec(<{len(DEFAULT.types())} types, {len(DEFAULT.v1_tags())} v1 tags>)"


def test_with_types_can_be_chained() -> None:
    @attrs.frozen
    class SerdeTestOther:
        x: int

    codec = CODEC.with_types({"test.serde_other": SerdeTestOther})
    assert codec.decode(codec.encode((SerdeTestOther(x=1), SerdeTestColour.RED))) == (
        SerdeTestOther(x=1),
        SerdeTestColour.RED,
    )


def test_a_wire_name_cannot_be_used_twice() -> None:
    with pytest.raises(
        fx.ConfigurationError, match=re.escape("wire name 'message.user' is used twice")
    ) as info:
        DEFAULT.with_types({"message.user": SerdeTestTicket})
    assert "tower_llm_fx:UserMessage" in str(info.value)
    with pytest.raises(fx.ConfigurationError, match=re.escape("wire name 'test.serde_ticket' is used twice")):
        CODEC.with_types({"test.serde_ticket": SerdeTestColour})


def test_a_class_cannot_have_two_names() -> None:
    with pytest.raises(fx.ConfigurationError, match="tower_llm_fx:UserMessage is already in the codec as"):
        DEFAULT.with_types({"test.user": fx.UserMessage})
    with pytest.raises(fx.ConfigurationError, match=re.escape("already in the codec as 'test.serde_ticket'")):
        CODEC.with_types({"test.ticket_again": SerdeTestTicket})


def test_a_class_with_the_name_of_a_library_class_is_another_class() -> None:
    @attrs.frozen
    class UserMessage:
        content: str

    codec = DEFAULT.with_types({"test.user_message": UserMessage})
    assert codec.encode(UserMessage(content="x")) == {"type": "test.user_message", "content": "x"}
    assert codec.encode(fx.user("x"))["type"] == "message.user"
    with pytest.raises(TypeError, match="'UserMessage' is not in this codec"):
        fx.to_json(UserMessage(content="impostor"))


def test_only_attrs_classes_and_enums_can_have_wire_names() -> None:
    class SerdeTestPlain:
        pass

    with pytest.raises(TypeError, match="a codec takes attrs classes and enums"):
        DEFAULT.with_types({"test.plain": SerdeTestPlain})
    with pytest.raises(TypeError, match="a codec takes attrs classes and enums"):
        DEFAULT.with_types({"test.instance": SerdeTestTicket(id=1)})  # type: ignore[dict-item]


@pytest.mark.parametrize("name", [3, None, b"acme.ticket", ("acme", "ticket")])
def test_a_wire_name_must_be_a_string(name: Any) -> None:
    with pytest.raises(TypeError, match="wire names are strings"):
        DEFAULT.with_types({name: SerdeTestTicket})


@pytest.mark.parametrize("name", ["Ticket", "ticket", "acme.Ticket", "acme ticket", "", "acme."])
def test_a_wire_name_is_lowercase_and_dotted(name: str) -> None:
    with pytest.raises(
        fx.ConfigurationError, match=re.escape("use lowercase words joined by dots, like 'acme.ticket'")
    ):
        DEFAULT.with_types({name: SerdeTestTicket})


@given(st.from_regex(WIRE_NAME, fullmatch=True) | st.sampled_from(sorted(DEFAULT.types())))
def test_a_fresh_wire_name_works_and_a_used_one_is_refused(name: str) -> None:
    ticket = SerdeTestTicket(id=3, tags=("x",))
    if name in DEFAULT.types():
        with pytest.raises(fx.ConfigurationError, match="is used twice"):
            DEFAULT.with_types({name: SerdeTestTicket})
        return
    codec = DEFAULT.with_types({name: SerdeTestTicket})
    assert codec.encode(ticket)["type"] == name
    assert codec.decode(json.loads(json.dumps(codec.encode(ticket)))) == ticket
    with pytest.raises(fx.ConfigurationError, match="is used twice"):
        codec.with_types({name: SerdeTestColour})


@given(st.text(max_size=20).filter(lambda s: not WIRE_NAME.fullmatch(s)))
def test_anything_else_is_not_a_wire_name(name: str) -> None:
    with pytest.raises(fx.ConfigurationError, match="is not allowed"):
        DEFAULT.with_types({name: SerdeTestTicket})


def test_with_types_takes_a_mapping() -> None:
    with pytest.raises(TypeError, match="with_types\\(\\) takes a mapping"):
        DEFAULT.with_types([("test.serde_ticket", SerdeTestTicket)])  # type: ignore[arg-type]


def test_v1_tags_of_our_own_read_data_written_with_register() -> None:
    # What v1's ``register(SerdeTestTicket)`` wrote: the class name as the tag.
    v1 = {"type": "SerdeTestTicket", "id": 7, "secret": "k", "tags": ["a"]}
    with pytest.raises(fx.DecodeError, match=re.escape("v1_tags={'SerdeTestTicket': 'yourapp.<name>'}")):
        CODEC.decode(v1)
    codec = DEFAULT.with_types(
        {"test.serde_ticket": SerdeTestTicket}, v1_tags={"SerdeTestTicket": "test.serde_ticket"}
    )
    assert codec.decode(v1) == SerdeTestTicket(id=7, secret="k", tags=("a",))
    assert codec.encode(codec.decode(v1))["type"] == "test.serde_ticket"
    assert codec.v1_tags()["SerdeTestTicket"] == "test.serde_ticket"


@pytest.mark.parametrize(
    ("v1_tags", "message"),
    [
        ({"Ticket": "test.nothing"}, "maps to 'test.nothing', which is not a wire name here"),
        ({"acme.ticket": "test.serde_ticket"}, "v1 tags are class names"),
        ({"": "test.serde_ticket"}, "v1 tags are class names"),
        ({"UserMessage": "test.serde_ticket"}, "v1 tag 'UserMessage' maps to both"),
    ],
)
def test_bad_v1_tags_are_refused(v1_tags: dict[str, str], message: str) -> None:
    with pytest.raises(fx.ConfigurationError, match=message):
        DEFAULT.with_types({"test.serde_ticket": SerdeTestTicket}, v1_tags=v1_tags)


def test_types_and_v1_tags_are_copies() -> None:
    table = DEFAULT.types()
    assert table["effect.model_call"] == "tower_llm_fx:ModelCall"
    assert table["resilience.breaker_state"] == "tower_llm_fx.resilience:BreakerState"
    table["effect.model_call"] = "nope:Nope"
    assert DEFAULT.types()["effect.model_call"] == "tower_llm_fx:ModelCall"
    tags = DEFAULT.v1_tags()
    tags.clear()
    assert DEFAULT.v1_tags()["ModelCall"] == "effect.model_call"
    assert CODEC.types()["test.serde_ticket"] == f"{__name__}:SerdeTestTicket"


def test_class_of_and_name_of() -> None:
    assert DEFAULT.class_of("effect.model_call") is fx.ModelCall
    assert DEFAULT.class_of("ModelCall") is fx.ModelCall
    assert DEFAULT.class_of("session.save") is tower_llm_fx.sessions.SaveSession
    assert DEFAULT.name_of(fx.JoinPolicy) == "effect.join_policy"
    assert CODEC.name_of(SerdeTestTicket) == "test.serde_ticket"
    with pytest.raises(KeyError):
        DEFAULT.class_of("acme.ticket")
    with pytest.raises(TypeError, match="not in this codec"):
        DEFAULT.name_of(SerdeTestTicket)


def test_an_entry_whose_module_cannot_be_imported_is_a_decode_error_saying_so() -> None:
    # As ``strategies.mutation`` is without hypothesis installed.
    codec = Codec(types={"test.missing": "no_such_module_for_tests:Thing"})
    with pytest.raises(
        ImportError, match=re.escape("'test.missing' stands for no_such_module_for_tests:Thing")
    ):
        codec.class_of("test.missing")
    with pytest.raises(fx.DecodeError, match=r"at \$\[0\]: wire name 'test.missing' .* cannot be imported"):
        codec.decode([{"type": "test.missing"}])
    not_a_class = Codec(types={"test.helper": "tower_llm_fx:user"})
    with pytest.raises(fx.DecodeError, match="not an attrs class or an enum"):
        not_a_class.decode({"type": "test.helper"})
    with pytest.raises(fx.ConfigurationError, match="not a 'module:QualName' path"):
        Codec(types={"test.bad": "no colon"})


def test_a_codec_of_its_own_knows_only_its_table() -> None:
    codec = Codec(types={"test.serde_ticket": SerdeTestTicket})
    assert codec.decode(codec.encode(SerdeTestTicket(id=1))) == SerdeTestTicket(id=1)
    with pytest.raises(TypeError, match="'UserMessage' is not in this codec"):
        codec.encode(fx.user("hi"))


def test_there_is_no_registry_any_more() -> None:
    for gone in ("register", "registered", "_CLASSES", "_FAMILIES"):
        assert not hasattr(serde_module, gone)
        assert not hasattr(tower_llm_fx.serde, gone)


def test_the_public_namespace_is_the_codec() -> None:
    assert tower_llm_fx.serde.Codec is serde_module.Codec
    assert tower_llm_fx.serde.DEFAULT is serde_module.DEFAULT
    assert fx.to_json is serde_module.to_json and fx.from_json is serde_module.from_json
    assert repr(Codec) == "<class 'tower_llm_fx.serde.Codec'>"


# ---------------------------------------------------------------- what is written


def test_defaults_are_written_and_init_false_fields_are_not() -> None:
    assert fx.to_json(fx.ToolCall(id="c1", name="add")) == {
        "type": "effect.tool_call",
        "id": "c1",
        "name": "add",
        "arguments": "{}",
        "agent": None,
        "context": None,
    }
    assert "role" not in fx.to_json(fx.SystemMessage(content="s"))


def test_a_missing_field_with_a_default_decodes_to_the_default() -> None:
    expected = fx.ToolCall(id="c1", name="add")
    assert fx.from_json({"type": "effect.tool_call", "id": "c1", "name": "add"}) == expected
    assert fx.from_json({"type": "ToolCall", "id": "c1", "name": "add", "arguments": "{}"}) == expected


def test_v1_data_without_agent_fields_decodes() -> None:
    # What v1 wrote for a Parallel batch, before ToolCall and Parallel had ``agent``.
    v1 = {
        "type": "Parallel",
        "calls": [
            {"type": "ToolCall", "id": "c1", "name": "add", "arguments": '{"a": 1}'},
            {"type": "ToolCall", "id": "c2", "name": "add", "arguments": '{"a": 2}'},
        ],
        "join": {"type": "JoinPolicy", "value": "fail_fast"},
        "limit": 2,
    }
    calls = (fx.ToolCall(id="c1", name="add", arguments='{"a": 1}'),
             fx.ToolCall(id="c2", name="add", arguments='{"a": 2}'))  # fmt: skip
    expected = fx.Parallel(calls=calls, join=fx.JoinPolicy.FAIL_FAST, limit=2)
    assert fx.from_json(v1) == expected
    assert fx.from_json(fx.to_json(expected)) == expected
    assert fx.to_json(expected)["join"] == {"type": "effect.join_policy", "value": "fail_fast"}


def test_literal_v1_state_decodes_to_the_same_value_as_v2() -> None:
    v1 = {
        "type": "RunState",
        "messages": [
            {"type": "UserMessage", "content": "hi", "name": None},
            {"type": "AssistantMessage", "content": "yo", "tool_calls": [], "refusal": None, "name": None},
        ],
        "steps": 1,
        "usage": {"type": "Usage", "prompt_tokens": 3, "completion_tokens": 1},
        "model_calls": 0,
        "tool_invocations": 0,
        "stop": {"type": "StopReason", "kind": "no_tool_calls", "detail": ""},
    }
    value = fx.from_json(v1)
    assert value == fx.RunState(
        messages=(fx.user("hi"), fx.assistant("yo")),
        steps=1,
        usage=fx.Usage(prompt_tokens=3, completion_tokens=1),
        stop=fx.StopReason(kind="no_tool_calls"),
    )
    assert fx.from_json(fx.to_json(value)) == value
    # v2 writes the fields added since (content parts, extras, usage details) with their
    # defaults; under v1 tags the rest is what v1 wrote
    again = as_v1(fx.to_json(value))
    assert fx.from_json(again) == value
    assert again["messages"][0] == {**v1["messages"][0], "extra": None}  # type: ignore[index]


def test_tuples_and_lists_encode_as_lists_and_decode_as_tuples() -> None:
    assert fx.to_json((1, [2, (3,)])) == [1, [2, [3]]]
    assert fx.from_json([1, [2, [3]]]) == (1, (2, (3,)))


def test_scalars_pass_through() -> None:
    for value in (None, True, 0, -1.5, "text"):
        assert fx.to_json(value) == value
        assert fx.from_json(value) == value


def test_dicts_encode_with_text_keys() -> None:
    assert fx.to_json({1: fx.user("a")}) == {
        "1": {"type": "message.user", "content": "a", "name": None, "extra": None}
    }


def test_values_that_are_not_known_are_refused() -> None:
    with pytest.raises(TypeError, match="'SerdeTestTicket' is not in this codec") as info:
        fx.to_json(SerdeTestTicket(id=1))
    assert "with_types({'yourapp.<name>': SerdeTestTicket})" in str(info.value)
    with pytest.raises(TypeError, match="'SerdeTestColour' is not in this codec"):
        fx.to_json(SerdeTestColour.RED)
    with pytest.raises(TypeError, match="cannot encode a set"):
        fx.to_json({1, 2})


# ---------------------------------------------------------------- decode errors


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (("not", "a list"), r"at \$: expected JSON data, got tuple"),
        ({"content": "no tag"}, r"at \$: object has no string 'type' tag"),
        ({"type": 3}, r"at \$: object has no string 'type' tag"),
        ({"type": "Future"}, r"at \$: unknown type 'Future': neither a wire name nor a v1 tag"),
        (
            {"type": "message.future"},
            r"at \$: unknown type 'message.future': written by a newer tower_llm_fx",
        ),
        (
            {"type": "message.user", "content": "x", "role": "user"},
            r"at \$: UserMessage has no field\(s\) \['role'\]",
        ),
        (
            {"type": "UserMessage", "content": "x", "role": "user"},
            r"at \$: UserMessage has no field\(s\) \['role'\]",
        ),
        ({"type": "effect.tool_call", "name": "add"}, r"at \$: invalid ToolCall: .*'id'"),
        ({"type": "ToolCall", "name": "add"}, r"at \$: invalid ToolCall: .*'id'"),
        (
            {"type": "effect.join_policy", "value": "sometimes"},
            r"at \$: 'sometimes' is not a valid JoinPolicy",
        ),
        ({"type": "JoinPolicy"}, r"at \$: None is not a valid JoinPolicy"),
        (
            {
                "type": "effect.parallel",
                "calls": [{"type": "effect.tool_call", "id": "c1", "name": "a"}, {"id": "c2"}],
            },
            r"at \$\.calls\[1\]: object has no string 'type' tag",
        ),
        (
            {
                "type": "result.model",
                "message": {
                    "type": "message.assistant",
                    "tool_calls": [{"type": "message.tool_call", "id": 1, "name": "a"}],
                },
            },
            r"at \$\.message\.tool_calls\[0\]: invalid ToolCallRequest",
        ),
        ({"type": "result.usage", "prompt_tokens": -1}, r"at \$: invalid Usage"),
    ],
)
def test_decode_errors_say_where_and_what(data: Any, message: str) -> None:
    with pytest.raises(fx.DecodeError, match=message):
        fx.from_json(data)


def test_a_decode_error_keeps_path_and_problem_and_is_a_value_error() -> None:
    with pytest.raises(ValueError) as info:
        fx.from_json([{"type": "nope.nope"}])
    err = info.value
    assert isinstance(err, fx.DecodeError)
    assert err.path == "$[0]"
    assert err.problem.startswith("unknown type 'nope.nope': written by a newer tower_llm_fx")
    assert str(err) == f"at {err.path}: {err.problem}"


def test_a_decode_error_survives_pickling() -> None:
    err = fx.DecodeError("$.a[2]", "bad value")
    back = pickle.loads(pickle.dumps(err))
    assert (type(back), str(back), back.path, back.problem) == (
        fx.DecodeError,
        str(err),
        "$.a[2]",
        "bad value",
    )


# ---------------------------------------------------------------- properties


@given(
    st.one_of(fxst.model_calls(), fxst.parallels(), fxst.results(), fxst.run_states(), fxst.stop_reasons())
)
def test_core_values_round_trip_through_json_text(value: Any) -> None:
    assert through_text(value) == value


LIBRARY_VALUES = st.one_of(
    fxst.effects(),
    fxst.results(),
    fxst.run_states(),
    fxst.run_items(),
    fxst.traces(),
    fxst.validation_policies(),
    fxst.mutations(),
    st.lists(fxst.messages(), max_size=4).map(tuple),
)


@given(LIBRARY_VALUES)
def test_every_library_value_round_trips_and_its_v1_form_decodes_to_it(value: Any) -> None:
    data = json.loads(json.dumps(fx.to_json(value)))
    assert fx.from_json(data) == value
    assert fx.from_json(as_v1(data)) == value
    assert fx.to_json(fx.from_json(as_v1(data))) == data, "decoding v1 and encoding again writes v2"


@given(LIBRARY_VALUES)
def test_a_codec_with_types_of_our_own_reads_and_writes_library_values_the_same(value: Any) -> None:
    data = fx.to_json(value)
    assert CODEC.encode(value) == data
    assert CODEC.decode(data) == value


@given(fxst.effects())
def test_every_encoded_object_names_its_type(effect: fx.Effect[Any]) -> None:
    def objects(data: Any) -> Iterator[dict[str, Any]]:
        if isinstance(data, dict):
            yield data
            for v in data.values():
                yield from objects(v)
        elif isinstance(data, list):
            for v in data:
                yield from objects(v)

    found = list(objects(fx.to_json(effect)))
    assert found[0]["type"] == DEFAULT.name_of(type(effect))
    assert all(isinstance(o.get("type"), str) for o in found)


# ---------------------------------------------------------------- the families, in a fresh interpreter


FAMILY_VALUES = [
    pytest.param(
        tower_llm_fx.resilience.BreakerState(
            state="open", consecutive_failures=3, opened_at=12.5, rejected=2
        ),
        "tower_llm_fx.resilience",
        id="BreakerState",
    ),
    pytest.param(
        tower_llm_fx.sessions.SaveSession(
            session_id="s1", after_seq=2, records=(fx.user("hi"), fx.assistant("yo"))
        ),
        "tower_llm_fx.sessions",
        id="SaveSession",
    ),
]
FAMILIES = ["tower_llm_fx.group", "tower_llm_fx.resilience", "tower_llm_fx.sessions", "tower_llm_fx.trace",
            "tower_llm_fx.validation", "tower_llm_fx.strategies"]  # fmt: skip


def run_fresh(code: str, stdin: str = "") -> str:
    """Run ``code`` in a new interpreter; return what it printed."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], input=stdin, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize("v1", [False, True], ids=["v2", "v1"])
@pytest.mark.parametrize(("value", "family"), FAMILY_VALUES)
def test_a_family_tag_decodes_in_a_fresh_interpreter_importing_only_its_family(
    value: Any, family: str, v1: bool
) -> None:
    data = fx.to_json(value)
    printed = run_fresh(
        f"""
        import json, sys
        import tower_llm_fx as fx
        before = {family!r} in sys.modules
        data = json.loads(sys.stdin.read())
        value = fx.from_json(data)
        print(json.dumps({{
            "before": before,
            "class": type(value).__module__ + "." + type(value).__qualname__,
            "again": fx.to_json(value),
            "repr": repr(value),
            "others": sorted(n for n in {FAMILIES!r} if n != {family!r} and n in sys.modules),
        }}))
        """,
        stdin=json.dumps(as_v1(data) if v1 else data),
    )
    report = json.loads(printed)
    assert report == {
        "before": False,
        "class": f"{family}.{type(value).__name__}",
        "again": data,
        "repr": repr(value),
        "others": [],
    }


def test_core_tags_and_the_table_import_no_family() -> None:
    printed = run_fresh(
        f"""
        import sys
        import tower_llm_fx as fx
        from tower_llm_fx.serde import DEFAULT
        fx.from_json({{"type": "message.user", "content": "hi", "name": None}})
        fx.from_json({{"type": "UserMessage", "content": "hi", "name": None}})
        fx.to_json(fx.RunState.start("hi"))
        table = DEFAULT.types()
        try:
            fx.from_json({{"type": "nope.nope"}})
        except fx.DecodeError as exc:
            print(exc.path)
        print(len(table), sorted(n for n in {FAMILIES!r} if n in sys.modules))
        """
    )
    assert printed.splitlines() == ["$", f"{len(DEFAULT.types())} []"]


def test_data_nested_too_deep_is_a_decode_error_and_too_deep_to_encode_a_type_error() -> None:
    deep: Any = "x"
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(fx.DecodeError, match="nests too deep"):
        fx.from_json(deep)
    with pytest.raises(fx.DecodeError, match="nests too deep"):
        fx.sessions.decode_record({"type": "message.user", "content": deep, "name": None})
    with pytest.raises(TypeError, match="nests too deep"):
        fx.to_json(deep)
