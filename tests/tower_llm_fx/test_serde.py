"""`tower_llm_fx._serde` and the public `tower_llm_fx.serde`: the exact JSON codec of core values.

Covers: exact round trips (``from_json(to_json(v)) == v`` through real JSON text) for messages,
effects, results, states and enums; what is written (a ``"type"`` tag, every init field with its
alias, defaults included, ``init=False`` fields left out); every `DecodeError` path (not JSON data,
no tag, unknown tag, unknown field, invalid value or enum value), with the path it names; what
`to_json` refuses; `register` (decorator, idempotent, name clashes, non-attrs classes) and
`registered` (a copy, the families included); that the families' tags (a
``tower_llm_fx.resilience.BreakerState``, a ``tower_llm_fx.sessions.SaveSession``) decode in a fresh
interpreter that imported only ``tower_llm_fx``, importing the families lazily, once; and that
`DecodeError` survives pickling.
"""

from __future__ import annotations

import enum
import json
import pickle
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
from tower_llm_fx import strategies as fxst

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
        fx.from_json({"type": "UserMessage", "content": "x", "colour": 1})
    with pytest.raises(fx.DecodeError, match=r"at \$: invalid UserMessage"):
        fx.from_json({"type": "UserMessage", "content": 3})
    with pytest.raises(TypeError, match="register"):
        fx.to_json(object())


# ---------------------------------------------------------------- classes of our own


@attrs.frozen
class SerdeTestTicket:
    """A user type with a private attribute (alias ``secret``) and a default."""

    id: int
    _secret: str = "s"
    tags: tuple[str, ...] = ()


class SerdeTestColour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@pytest.fixture
def own_types() -> Iterator[None]:
    """Register the test's own types for one test, and forget them afterwards."""
    tower_llm_fx.serde.register(SerdeTestTicket)
    tower_llm_fx.serde.register(SerdeTestColour)
    try:
        yield
    finally:
        serde_module._CLASSES.pop("SerdeTestTicket", None)
        serde_module._CLASSES.pop("SerdeTestColour", None)


def through_text(value: Any) -> Any:
    """Encode, write as JSON text, read back, decode."""
    return fx.from_json(json.loads(json.dumps(fx.to_json(value), allow_nan=False)))


@pytest.mark.usefixtures("own_types")
def test_a_registered_class_of_our_own_round_trips_with_its_alias() -> None:
    ticket = SerdeTestTicket(id=7, secret="k", tags=("a", "b"))
    assert fx.to_json(ticket) == {"type": "SerdeTestTicket", "id": 7, "secret": "k", "tags": ["a", "b"]}
    assert through_text(ticket) == ticket


@pytest.mark.usefixtures("own_types")
def test_a_registered_enum_round_trips_to_the_same_member() -> None:
    assert fx.to_json(SerdeTestColour.BLUE) == {"type": "SerdeTestColour", "value": "blue"}
    assert through_text(SerdeTestColour.BLUE) is SerdeTestColour.BLUE
    with pytest.raises(fx.DecodeError, match=r"at \$: 'green' is not a valid SerdeTestColour"):
        fx.from_json({"type": "SerdeTestColour", "value": "green"})


def test_register_returns_the_class_and_may_be_repeated() -> None:
    try:
        assert tower_llm_fx.serde.register(SerdeTestTicket) is SerdeTestTicket
        assert tower_llm_fx.serde.register(SerdeTestTicket) is SerdeTestTicket
        assert tower_llm_fx.serde.registered()["SerdeTestTicket"] is SerdeTestTicket
    finally:
        serde_module._CLASSES.pop("SerdeTestTicket", None)
    assert "SerdeTestTicket" not in tower_llm_fx.serde.registered()


def test_two_classes_may_not_share_a_tag() -> None:
    @attrs.frozen
    class UserMessage:
        content: str

    with pytest.raises(ValueError, match="two serialisable classes are named 'UserMessage'"):
        tower_llm_fx.serde.register(UserMessage)
    assert tower_llm_fx.serde.registered()["UserMessage"] is fx.UserMessage
    with pytest.raises(TypeError, match="UserMessage is not registered"):
        fx.to_json(UserMessage(content="impostor"))


def test_only_attrs_classes_and_enums_can_be_registered() -> None:
    class SerdeTestPlain:
        pass

    with pytest.raises(TypeError, match="register\\(\\) takes attrs classes and enums"):
        tower_llm_fx.serde.register(SerdeTestPlain)
    assert "SerdeTestPlain" not in tower_llm_fx.serde.registered()


def test_unregistered_values_are_refused() -> None:
    with pytest.raises(TypeError, match="SerdeTestTicket is not registered"):
        fx.to_json(SerdeTestTicket(id=1))
    with pytest.raises(TypeError, match="SerdeTestColour is not registered"):
        fx.to_json(SerdeTestColour.RED)
    with pytest.raises(TypeError, match="cannot encode a set"):
        fx.to_json({1, 2})


def test_registered_is_a_copy_with_the_families_in_it() -> None:
    table = tower_llm_fx.serde.registered()
    assert table["ModelCall"] is fx.ModelCall
    assert table["JoinPolicy"] is fx.JoinPolicy
    assert table["BreakerState"] is tower_llm_fx.resilience.BreakerState
    assert table["SaveSession"] is tower_llm_fx.sessions.SaveSession
    table["ModelCall"] = SerdeTestTicket
    assert tower_llm_fx.serde.registered()["ModelCall"] is fx.ModelCall


def test_the_public_namespace_is_the_codec() -> None:
    assert tower_llm_fx.serde.register is serde_module.register
    assert tower_llm_fx.serde.registered is serde_module.registered
    assert fx.to_json is serde_module.to_json and fx.from_json is serde_module.from_json


# ---------------------------------------------------------------- what is written


def test_defaults_are_written_and_init_false_fields_are_not() -> None:
    assert fx.to_json(fx.ToolCall(id="c1", name="add")) == {
        "type": "ToolCall",
        "id": "c1",
        "name": "add",
        "arguments": "{}",
    }
    assert "role" not in fx.to_json(fx.SystemMessage(content="s"))


def test_a_missing_field_with_a_default_decodes_to_the_default() -> None:
    assert fx.from_json({"type": "ToolCall", "id": "c1", "name": "add"}) == fx.ToolCall(id="c1", name="add")


def test_tuples_and_lists_encode_as_lists_and_decode_as_tuples() -> None:
    assert fx.to_json((1, [2, (3,)])) == [1, [2, [3]]]
    assert fx.from_json([1, [2, [3]]]) == (1, (2, (3,)))


def test_scalars_pass_through() -> None:
    for value in (None, True, 0, -1.5, "text"):
        assert fx.to_json(value) == value
        assert fx.from_json(value) == value


def test_dicts_encode_with_text_keys() -> None:
    assert fx.to_json({1: fx.user("a")}) == {"1": {"type": "UserMessage", "content": "a", "name": None}}


# ---------------------------------------------------------------- decode errors


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (("not", "a list"), r"at \$: expected JSON data, got tuple"),
        ({"content": "no tag"}, r"at \$: object has no string 'type' tag"),
        ({"type": 3}, r"at \$: object has no string 'type' tag"),
        ({"type": "Future"}, r"at \$: unknown type 'Future' \(written by a newer version, or corrupted\?\)"),
        (
            {"type": "UserMessage", "content": "x", "role": "user"},
            r"at \$: UserMessage has no field\(s\) \['role'\]",
        ),
        ({"type": "ToolCall", "name": "add"}, r"at \$: invalid ToolCall: .*'id'"),
        ({"type": "JoinPolicy", "value": "sometimes"}, r"at \$: 'sometimes' is not a valid JoinPolicy"),
        ({"type": "JoinPolicy"}, r"at \$: None is not a valid JoinPolicy"),
        (
            {"type": "Parallel", "calls": [{"type": "ToolCall", "id": "c1", "name": "a"}, {"id": "c2"}]},
            r"at \$\.calls\[1\]: object has no string 'type' tag",
        ),
        (
            {
                "type": "ModelReply",
                "message": {
                    "type": "AssistantMessage",
                    "tool_calls": [{"type": "ToolCallRequest", "id": 1, "name": "a"}],
                },
            },
            r"at \$\.message\.tool_calls\[0\]: invalid ToolCallRequest",
        ),
        ({"type": "Usage", "prompt_tokens": -1}, r"at \$: invalid Usage"),
    ],
)
def test_decode_errors_say_where_and_what(data: Any, message: str) -> None:
    with pytest.raises(fx.DecodeError, match=message):
        fx.from_json(data)


def test_a_decode_error_keeps_path_and_problem_and_is_a_value_error() -> None:
    with pytest.raises(ValueError) as info:
        fx.from_json([{"type": "Nope"}])
    err = info.value
    assert isinstance(err, fx.DecodeError)
    assert (err.path, err.problem) == (
        "$[0]",
        "unknown type 'Nope' (written by a newer version, or corrupted?)",
    )
    assert str(err) == f"at {err.path}: {err.problem}"


@pytest.mark.xfail(
    strict=True,
    raises=TypeError,
    reason="DecodeError(path, problem) stores only the formatted message in args and has no __reduce__, "
    "so unpickling calls DecodeError(message) and raises TypeError (missing 'problem')",
)
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
    assert found[0]["type"] == type(effect).__name__
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


def run_fresh(code: str, stdin: str = "") -> str:
    """Run ``code`` in a new interpreter; return what it printed."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], input=stdin, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


@pytest.mark.parametrize(("value", "family"), FAMILY_VALUES)
def test_a_family_tag_decodes_in_a_fresh_interpreter(value: Any, family: str) -> None:
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
            "again": fx.to_json(value) == data,
            "repr": repr(value),
        }}))
        """,
        stdin=json.dumps(data),
    )
    report = json.loads(printed)
    assert report == {
        "before": False,
        "class": f"{family}.{type(value).__name__}",
        "again": True,
        "repr": repr(value),
    }


def test_core_tags_do_not_import_the_families_and_the_first_unknown_tag_imports_them_once() -> None:
    printed = run_fresh(
        """
        import importlib, sys
        import tower_llm_fx as fx
        from tower_llm_fx import _serde
        fams = [n for n in _serde._FAMILIES]
        fx.from_json({"type": "UserMessage", "content": "hi", "name": None})
        print(sorted(n for n in fams if n in sys.modules))
        calls = []
        real = importlib.import_module
        importlib.import_module = lambda name, *a: calls.append(name) or real(name, *a)
        for _ in range(2):
            try:
                fx.from_json({"type": "Nope"})
            except fx.DecodeError as exc:
                print(exc)
        print(sorted(calls) == sorted(fams), all(n in sys.modules for n in fams))
        """
    )
    assert printed.splitlines() == [
        "[]",
        "at $: unknown type 'Nope' (written by a newer version, or corrupted?)",
        "at $: unknown type 'Nope' (written by a newer version, or corrupted?)",
        "True True",
    ]


def test_registered_imports_the_families_in_a_fresh_interpreter() -> None:
    printed = run_fresh(
        """
        import tower_llm_fx.serde
        table = tower_llm_fx.serde.registered()
        print(table["BreakerState"].__module__, table["SaveSession"].__module__)
        """
    )
    assert printed.split() == ["tower_llm_fx.resilience", "tower_llm_fx.sessions"]
