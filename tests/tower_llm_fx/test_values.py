"""Messages, effects, results and state are validated data that round-trip through JSON."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx

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


def test_constructors_validate_with_helpful_messages() -> None:
    with pytest.raises(TypeError, match=r"messages\[1\] is a str, not a message"):
        fx.ModelCall(model="m", messages=(fx.user("a"), "b"))  # type: ignore[arg-type]

    @fx.tool
    def t() -> None:
        """T."""

    with pytest.raises(TypeError, match=r"pass tool.spec"):
        fx.ModelCall(model="m", messages=(), tools=(t,))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="ToolCallRequest"):
        fx.AssistantMessage(tool_calls=("x",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        fx.Parallel(calls=(), limit=0)
    with pytest.raises(TypeError, match="tool_choice"):
        fx.ModelParams(tool_choice=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not JSON-serialisable"):
        fx.ModelParams(extra={"x": object()})


def test_params_repr_shows_only_what_is_set() -> None:
    assert repr(fx.ModelParams(temperature=0.1, stop="x")) == "ModelParams(temperature=0.1, stop=('x',))"


def test_tool_results_as_returns_results() -> None:
    from returns.result import Failure, Success

    ok = fx.ToolResult.success(call_id="c", name="t", content="1")
    bad = fx.ToolResult.failure(call_id="c", name="t", kind="denied", message="no")
    assert ok.as_result() == Success("1")
    assert bad.as_result() == Failure(fx.ToolError(kind="denied", message="no"))
    assert bad.to_message() == fx.ToolMessage(tool_call_id="c", content="error (denied): no")


def test_tool_call_arguments_parsing() -> None:
    assert fx.ToolCallRequest(id="1", name="t", arguments="").parsed_arguments() == {}
    with pytest.raises(ValueError, match="JSON object"):
        fx.ToolCallRequest(id="1", name="t", arguments="[1]").parsed_arguments()
