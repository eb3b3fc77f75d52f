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
# Keys the codec does not name (an "x_" prefix never collides with one it does).
extra_keys = st.from_regex(r"x_[a-z]{1,5}", fullmatch=True)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-100, 100) | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)
# A top-level null means "absent" (the codec's normalisation), so extras hold none.
non_null = json_values.filter(lambda x: x is not None)
extras = st.none() | st.dictionaries(extra_keys, non_null, max_size=3)
call_extras = (
    st.none() | extras.filter(bool) | st.just({"extra_content": {"google": {"thought_signature": "c2ln"}}})
)
tool_calls = st.builds(fx.ToolCallRequest, id=ids, name=names, arguments=json_args | texts, extra=call_extras)
parts = st.one_of(
    st.builds(fx.TextPart, text=texts, extra=st.none() | st.just({"cache_control": {"type": "ephemeral"}})),
    st.builds(
        fx.ImagePart,
        url=st.sampled_from(["https://example.com/a.png", "data:image/png;base64,iVBORw0KGgo="]),
        detail=st.none() | st.sampled_from(["auto", "low", "high"]),
        extra=extras,
    ),
    st.builds(fx.AudioPart, data=st.just("UklGRg=="), format=st.sampled_from(["wav", "mp3"]), extra=extras),
    st.builds(fx.FilePart, file_id=st.just("file-abc"), data=st.none(), filename=st.none() | texts),
    st.builds(
        fx.FilePart, file_id=st.none(), data=st.just("data:application/pdf;base64,JVBE"), filename=texts
    ),
    st.builds(
        fx.OtherPart,
        # Mistral's "thinking" parts merge when streamed: tests/.../test_stream.py covers them.
        kind=st.sampled_from(["video_url", "document_url", "x_custom"]),
        extra=st.dictionaries(st.sampled_from(["video_url", "document_url", "x"]), non_null, max_size=2),
    ),
)
contents = texts | st.lists(parts, max_size=3).map(tuple)
reasoning_raws = st.one_of(
    st.fixed_dictionaries({"reasoning_content": texts}),
    st.fixed_dictionaries({"reasoning": texts}),
    st.fixed_dictionaries(
        {
            "reasoning": texts,
            "reasoning_details": st.lists(
                st.fixed_dictionaries({"type": st.just("reasoning.text"), "text": texts}),
                min_size=1,
                max_size=2,
            ),
        }
    ),
)
reasonings = st.none() | reasoning_raws.map(
    lambda raw: fx.Reasoning(text=tower_llm_fx.openai._messages.reasoning_text(raw), raw=raw)
)
#: Messages in the shapes OpenAI documents (checked against the official types).
plain_messages = st.one_of(
    st.builds(fx.SystemMessage, content=texts),
    st.builds(fx.UserMessage, content=texts, name=st.none() | names),
    st.builds(
        fx.AssistantMessage,
        content=st.none() | texts,
        tool_calls=st.lists(
            st.builds(fx.ToolCallRequest, id=ids, name=names, arguments=json_args), max_size=3
        ).map(tuple),
        refusal=st.none() | texts,
        name=st.none() | names,
    ),
    st.builds(fx.ToolMessage, tool_call_id=ids, content=texts),
)
#: Messages with everything the widened model holds.
messages = st.one_of(
    st.builds(fx.SystemMessage, content=contents, name=st.none() | names, extra=extras),
    st.builds(fx.DeveloperMessage, content=contents, name=st.none() | names, extra=extras),
    st.builds(fx.UserMessage, content=contents, name=st.none() | names, extra=extras),
    st.builds(
        fx.AssistantMessage,
        content=st.none() | contents,
        tool_calls=st.lists(tool_calls, max_size=3).map(tuple),
        refusal=st.none() | texts,
        name=st.none() | names,
        reasoning=reasonings,
        extra=st.none() | st.just({"prefix": True}) | extras,
    ),
    st.builds(fx.ToolMessage, tool_call_id=ids, content=contents, extra=extras),
)
schemas = st.sampled_from(
    [
        {"type": "object"},
        {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]},
        {"type": "object", "properties": {"q": {"type": "string"}}, "additionalProperties": False},
    ]
)
specs = st.builds(
    fx.ToolSpec,
    name=names,
    description=texts,
    parameters=schemas,
    strict=st.booleans(),
    extra=st.none()
    | st.just({"cache_control": {"type": "ephemeral"}})
    | st.just({"function": {"x_eager": True}}),
)
provider_tools = st.lists(
    st.sampled_from(
        [{"type": "openrouter:web_search"}, {"type": "web_search", "search_context_size": "low"}]
    ),
    max_size=2,
).map(tuple)
params = st.builds(
    fx.ModelParams,
    temperature=st.none() | st.floats(0, 2),
    top_p=st.none() | st.floats(0, 1),
    max_tokens=st.none() | st.integers(1, 4096),
    max_completion_tokens=st.none() | st.integers(1, 4096),
    reasoning_effort=st.none() | st.sampled_from(["low", "medium", "high"]),
    tool_choice=st.none()
    | st.sampled_from(["auto", "none", "required", "any"])
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
#: Requests in the shapes OpenAI documents (checked against the official types).
plain_calls = st.builds(
    fx.ModelCall,
    model=names,
    messages=st.lists(plain_messages, max_size=6).map(tuple),
    tools=st.lists(
        st.builds(fx.ToolSpec, name=names, description=texts, parameters=schemas, strict=st.booleans()),
        max_size=3,
        unique_by=lambda s: s.name,
    ).map(tuple),
    params=params.filter(lambda p: p.tool_choice is None or p.tool_choice.mode != "any"),
)
calls = st.builds(
    fx.ModelCall,
    model=names,
    messages=st.lists(messages, max_size=6).map(tuple),
    tools=st.lists(specs, max_size=3, unique_by=lambda s: s.name).map(tuple),
    params=params,
    provider_tools=provider_tools,
)
counts = st.integers(0, 10**6)
detail_counts = st.none() | st.integers(0, 10**4)
usages = st.builds(fx.Usage, prompt_tokens=counts, completion_tokens=counts) | st.builds(
    fx.Usage,
    prompt_tokens=counts,
    completion_tokens=counts,
    reported_total_tokens=st.none() | st.integers(2 * 10**6 + 1, 3 * 10**6),
    cached_tokens=detail_counts,
    reasoning_tokens=detail_counts,
    prompt_audio_tokens=detail_counts,
    completion_audio_tokens=detail_counts,
    extra=st.none() | st.just({"queue_time": 0.01}) | st.just({"completion_tokens_details": {"x_pred": 0}}),
)
reply_messages = st.builds(
    fx.AssistantMessage,
    content=st.none() | texts,
    tool_calls=st.lists(tool_calls, max_size=3, unique_by=lambda c: c.id).map(tuple),
    refusal=st.none() | texts,
)
rich_reply_messages = st.builds(
    fx.AssistantMessage,
    content=st.none() | contents,
    tool_calls=st.lists(tool_calls, max_size=3, unique_by=lambda c: c.id).map(tuple),
    refusal=st.none() | texts,
    reasoning=reasonings,
    extra=st.none() | st.just({"annotations": []}) | extras,
)
_reply_fields = {
    "usage": usages,
    "finish_reason": st.sampled_from(["stop", "length", "tool_calls", "content_filter"]),
    "model": st.none() | names,
    "id": st.none() | ids,
}
#: Replies in the shape OpenAI itself sends (checked against the official types).
replies = st.builds(fx.ModelReply, message=reply_messages, **_reply_fields)
#: Replies with everything the widened model holds: parts, reasoning, extras at every level.
rich_replies = st.builds(
    fx.ModelReply,
    message=rich_reply_messages,
    extra=st.none() | extras | st.just({"system_fingerprint": "fp_1", "service_tier": "default"}),
    choice_extra=st.none() | extras,
    **_reply_fields,
)


def _merged_text(content: tuple[fx.ContentPart, ...]) -> tuple[fx.ContentPart, ...]:
    out: list[fx.ContentPart] = []
    for part in content:
        last = out[-1] if out else None
        if (
            isinstance(part, fx.TextPart)
            and part.extra is None
            and isinstance(last, fx.TextPart)
            and last.extra is None
        ):
            out[-1] = fx.TextPart(text=last.text + part.text)
        else:
            out.append(part)
    return tuple(out)


def normalised(reply: fx.ModelReply, *, streamed: bool = False) -> fx.ModelReply:
    """What the codec gives back for ``reply``: "" next to tool calls or a refusal is
    no content; reasoning with nothing raw is not sent; and in a stream, adjacent
    plain text parts arrive as one (a stream cannot tell them apart)."""
    m = reply.message
    if m.content == "" and (m.tool_calls or m.refusal is not None):
        m = attrs.evolve(m, content=None)
    if m.reasoning is not None and m.reasoning.raw is None:
        m = attrs.evolve(m, reasoning=None)
    if streamed and isinstance(m.content, tuple):
        m = attrs.evolve(m, content=_merged_text(m.content))
    return attrs.evolve(reply, message=m) if m is not reply.message else reply
