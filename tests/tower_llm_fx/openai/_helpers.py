"""Strategies and helpers shared by the tests of the OpenAI codec modules."""

from __future__ import annotations

import json

import attrs
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.openai

texts = st.text(max_size=40)
ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)
names = st.from_regex(r"[a-zA-Z0-9_-]{1,20}", fullmatch=True)
json_args = st.dictionaries(
    st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=10), st.booleans()), max_size=3
).map(json.dumps)
tool_calls = st.builds(fx.ToolCallRequest, id=ids, name=names, arguments=json_args | texts)
messages = st.one_of(
    st.builds(fx.SystemMessage, content=texts),
    st.builds(fx.UserMessage, content=texts, name=st.none() | names),
    st.builds(
        fx.AssistantMessage,
        content=st.none() | texts,
        tool_calls=st.lists(tool_calls, max_size=3).map(tuple),
        refusal=st.none() | texts,
        name=st.none() | names,
    ),
    st.builds(fx.ToolMessage, tool_call_id=ids, content=texts),
)
schemas = st.sampled_from(
    [
        {"type": "object"},
        {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
        {"type": "object", "properties": {"q": {"type": "string"}}, "additionalProperties": False},
    ]
)
specs = st.builds(fx.ToolSpec, name=names, description=texts, parameters=schemas, strict=st.booleans())
params = st.builds(
    fx.ModelParams,
    temperature=st.none() | st.floats(0, 2),
    top_p=st.none() | st.floats(0, 1),
    max_tokens=st.none() | st.integers(1, 4096),
    max_completion_tokens=st.none() | st.integers(1, 4096),
    reasoning_effort=st.none() | st.sampled_from(["low", "medium", "high"]),
    tool_choice=st.none()
    | st.sampled_from(["auto", "none", "required"])
    | names.map(lambda n: {"type": "function", "function": {"name": n}}),
    parallel_tool_calls=st.none() | st.booleans(),
    response_format=st.none() | st.just({"type": "json_object"}),
    stop=st.none() | st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=4).map(tuple),
    seed=st.none() | st.integers(0, 2**31),
    presence_penalty=st.none() | st.floats(-2, 2),
    frequency_penalty=st.none() | st.floats(-2, 2),
    user=st.none() | texts,
    metadata=st.none() | st.dictionaries(names, st.text(max_size=10), max_size=3),
)
calls = st.builds(
    fx.ModelCall,
    model=names,
    messages=st.lists(messages, max_size=6).map(tuple),
    tools=st.lists(specs, max_size=3, unique_by=lambda s: s.name).map(tuple),
    params=params,
)
usages = st.builds(fx.Usage, prompt_tokens=st.integers(0, 10**6), completion_tokens=st.integers(0, 10**6))
reply_messages = st.builds(
    fx.AssistantMessage,
    content=st.none() | texts,
    tool_calls=st.lists(tool_calls, max_size=3, unique_by=lambda c: c.id).map(tuple),
    refusal=st.none() | texts,
)
replies = st.builds(
    fx.ModelReply,
    message=reply_messages,
    usage=usages,
    finish_reason=st.sampled_from(["stop", "length", "tool_calls", "content_filter"]),
    model=st.none() | names,
    id=st.none() | ids,
)


def normalised(reply: fx.ModelReply) -> fx.ModelReply:
    """The codec's one normalisation: "" next to tool calls or a refusal is no content."""
    m = reply.message
    if m.content == "" and (m.tool_calls or m.refusal is not None):
        return attrs.evolve(reply, message=attrs.evolve(m, content=None))
    return reply
