"""OpenAI streaming, the other way: a reply as the ``chat.completion.chunk`` objects a server sends.

Theory: `to_openai_chunks` is what a server (or a test's fake one) streams for a
reply, in OpenAI's shape; ``_stream.OpenAIStream`` folds such chunks back into
the same ``ModelReply`` (Rule 2 of the codec, whose overview is in
``tower_llm_fx.openai._messages``).
"""

from __future__ import annotations

import json
from typing import Any

from tower_llm_fx._results import ModelReply

from ._extra import merge_extra
from ._messages import part_to_wire
from ._reply import response_head, usage_to_wire

__all__ = ["to_openai_chunks"]


def _pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def to_openai_chunks(
    reply: ModelReply,
    *,
    size: int = 8,
    interleave: bool = False,
    include_usage: bool = True,
    created: int | None = None,
) -> tuple[dict[str, Any], ...]:
    """Encode a reply as the ``chat.completion.chunk`` objects a server would stream.

    The shape follows OpenAI: a first chunk with the role, text and arguments
    in pieces of ``size`` characters, each tool call opened by a chunk with
    its id and name, a chunk with the finish reason, and (with
    ``include_usage``) a last chunk with no choices and the usage. With
    ``interleave`` the argument pieces of parallel tool calls alternate, as
    some servers send them. The ``data: [DONE]`` line is not a chunk and is
    not included.

    >>> import tower_llm_fx as fx
    >>> chunks = to_openai_chunks(fx.ModelReply(message=fx.assistant("Hello!")), size=3)
    >>> [c["choices"][0]["delta"].get("content") for c in chunks if c["choices"]]
    ['', 'Hel', 'lo!', None]
    """
    if size < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    m = reply.message
    head = response_head(reply, "chat.completion.chunk", created)
    if reply.extra is not None:
        merge_extra(head, reply.extra, "the reply")  # servers repeat the body's keys in every chunk

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            **head,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }

    first: dict[str, Any] = {
        "role": "assistant",
        "content": None if m.content is None else "" if type(m.content) is str else [],
    }
    if m.name is not None:
        first["name"] = m.name
    if m.extra is not None:
        merge_extra(first, m.extra, "the reply's message")
    chunks = [chunk(first)]
    if m.reasoning is not None and m.reasoning.raw is not None:
        for key, value in json.loads(m.reasoning.raw).items():
            if isinstance(value, str):
                chunks.extend(chunk({key: p}) for p in _pieces(value, size))
            else:
                chunks.append(chunk({key: value}))
    content = m.content
    if isinstance(content, str):
        if content:
            chunks.extend(chunk({"content": p}) for p in _pieces(content, size))
    elif content is not None:
        for wire in (part_to_wire(p) for p in content):
            if set(wire) == {"type", "text"}:
                chunks.extend(
                    chunk({"content": [{"type": "text", "text": p}]}) for p in _pieces(wire["text"], size)
                )
            else:
                chunks.append(chunk({"content": [wire]}))
    if m.refusal is not None:
        chunks.extend(chunk({"refusal": p}) for p in _pieces(m.refusal, size))
    fragments: list[list[dict[str, Any]]] = []
    for i, call in enumerate(m.tool_calls):
        opening: dict[str, Any] = {
            "index": i,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        if call.extra is not None:
            merge_extra(opening, call.extra, f"tool call {call.id!r}")
        rest = [{"index": i, "function": {"arguments": p}} for p in _pieces(call.arguments, size) if p]
        fragments.append([opening, *rest])
    if interleave:
        longest = max((len(f) for f in fragments), default=0)
        order = [f[k] for k in range(longest) for f in fragments if k < len(f)]
    else:
        order = [piece for f in fragments for piece in f]
    chunks.extend(chunk({"tool_calls": [piece]}) for piece in order)
    last = chunk({}, reply.finish_reason)
    if reply.choice_extra is not None:
        choice = {k: v for k, v in last["choices"][0].items() if k != "logprobs"}
        last["choices"][0] = merge_extra(choice, reply.choice_extra, "the reply's choice")
    chunks.append(last)
    if include_usage:
        chunks.append({**head, "choices": [], "usage": usage_to_wire(reply.usage)})
    return tuple(chunks)
