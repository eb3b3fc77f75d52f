"""OpenAI streaming: ``chat.completion.chunk`` objects, both ways.

Theory: `OpenAIStream` is a sans-io state machine, like ``h11.Connection``.
The shell feeds it the ``data`` of each server-sent event; it yields the
streaming events each chunk produces and, after ``data: [DONE]``, the same
``ModelReply`` that `from_openai_response` gives for the completion
unstreamed (Rule 2; the reply helpers are shared with ``_reply``). A
stream cut before ``[DONE]`` is ``StreamInterrupted``, never a short reply.
`to_openai_chunks` encodes a reply as such a stream. The overview of the
whole codec is in ``tower_llm_fx.openai._messages``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, final

from tower_llm_fx._errors import MalformedResponse, StreamInterrupted
from tower_llm_fx._events import RefusalDelta, RunEvent, TokenDelta, ToolCallArgumentsDelta, ToolCallStarted
from tower_llm_fx._json import loads_bounded
from tower_llm_fx._messages import ToolCallRequest
from tower_llm_fx._results import ModelReply
from tower_llm_fx._unchecked import unchecked_factory

from ._errors import clip, malformed_response, stream_error
from ._reply import (
    NO_USAGE,
    arguments_text,
    fast_reply,
    opt_str,
    pin_fields,
    reply_message,
    response_head,
    usage_from_wire,
    usage_to_wire,
)

__all__ = ["OpenAIStream", "to_openai_chunks"]

pin_fields(TokenDelta, ("step", "text"))
pin_fields(RefusalDelta, ("step", "text"))
pin_fields(ToolCallArgumentsDelta, ("step", "index", "id", "text"))


# The stream's text deltas skip attrs' validators (`unchecked`): step and text are checked here.
_token_delta: Callable[[int, str], TokenDelta] = unchecked_factory(TokenDelta, "step", "text")
_refusal_delta: Callable[[int, str], RefusalDelta] = unchecked_factory(RefusalDelta, "step", "text")


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

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        return {
            **head,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }

    first: dict[str, Any] = {"role": "assistant", "content": None if m.content is None else ""}
    if m.name is not None:
        first["name"] = m.name
    chunks = [chunk(first)]
    if m.content:
        chunks.extend(chunk({"content": p}) for p in _pieces(m.content, size))
    if m.refusal is not None:
        chunks.extend(chunk({"refusal": p}) for p in _pieces(m.refusal, size))
    fragments: list[list[dict[str, Any]]] = []
    for i, call in enumerate(m.tool_calls):
        opening = {
            "index": i,
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        rest = [{"index": i, "function": {"arguments": p}} for p in _pieces(call.arguments, size) if p]
        fragments.append([opening, *rest])
    if interleave:
        longest = max((len(f) for f in fragments), default=0)
        order = [f[k] for k in range(longest) for f in fragments if k < len(f)]
    else:
        order = [piece for f in fragments for piece in f]
    chunks.extend(chunk({"tool_calls": [piece]}) for piece in order)
    chunks.append(chunk({}, reply.finish_reason))
    if include_usage:
        chunks.append({**head, "choices": [], "usage": usage_to_wire(reply.usage)})
    return tuple(chunks)


@final
class _Call:
    __slots__ = ("id", "name", "parts")

    def __init__(self, id: str, name: str) -> None:
        self.id = id
        self.name = name
        self.parts: list[str] = []


@final
class OpenAIStream:
    """Fold a stream of ``chat.completion.chunk`` objects into events and a reply.

    A sans-io state machine, like ``h11.Connection``: feed it the ``data`` of
    each server-sent event in order with `feed` (or already-parsed chunks
    with `feed_chunk`); each call returns the streaming events that chunk
    produced (`TokenDelta`, `RefusalDelta`, `ToolCallStarted`,
    `ToolCallArgumentsDelta`, stamped with ``step``). After ``data: [DONE]``,
    `reply` returns the aggregated ``ModelReply``, equal to what
    `from_openai_response` gives for the same completion unstreamed.

    Tool-call fragments are matched by their ``index``, so parallel calls may
    interleave; the usage comes from whichever chunk carries it (the last one,
    with ``stream_options.include_usage``).

    >>> import tower_llm_fx as fx, json
    >>> stream = OpenAIStream(step=1)
    >>> for chunk in to_openai_chunks(fx.ModelReply(message=fx.assistant("Hi there")), size=4):
    ...     for event in stream.feed(json.dumps(chunk)):
    ...         print(event)
    TokenDelta(step=1, text='Hi t')
    TokenDelta(step=1, text='here')
    >>> stream.feed("[DONE]")
    ()
    >>> stream.reply().message.content
    'Hi there'
    """

    __slots__ = (
        "_calls",
        "_chunks",
        "_content",
        "_done",
        "_finish",
        "_id",
        "_model",
        "_name",
        "_refusal",
        "_step",
        "_usage",
    )

    def __init__(self, *, step: int = 1) -> None:
        if type(step) is not int or step < 1:
            raise ValueError(f"step must be a positive int (steps count from 1), got {step!r}")
        self._step = step
        self._chunks = 0
        self._done = False
        self._content: list[str] | None = None
        self._refusal: list[str] | None = None
        self._calls: dict[int, _Call] = {}
        self._finish: str | None = None
        self._usage = NO_USAGE
        self._id: str | None = None
        self._model: str | None = None
        self._name: str | None = None

    @property
    def done(self) -> bool:
        """Whether ``data: [DONE]`` was fed."""
        return self._done

    @property
    def chunks(self) -> int:
        """How many chunks were fed so far."""
        return self._chunks

    def feed(self, data: str, *, event: str | None = None) -> tuple[RunEvent, ...]:
        """Feed the ``data`` of one server-sent event (``event`` is its ``event:`` field).

        Raises:
            MalformedResponse: the data is not JSON, or not a chunk object.
            ProviderError: the server sent an error object in the stream
                (the subclass says what kind).
        """
        if self._done:
            return ()
        if data == "[DONE]":
            self._done = True
            return ()
        try:
            chunk = loads_bounded(data)
        except ValueError:
            raise MalformedResponse(
                f"stream chunk #{self._chunks + 1} is not valid JSON: {clip(repr(data))}; the stream "
                "is corrupt (a proxy that rewrites responses, or not an OpenAI-compatible server?)"
            ) from None
        if not isinstance(chunk, dict):
            raise malformed_response(f"stream chunk #{self._chunks + 1} is not an object", chunk)
        if event == "error" or "error" in chunk:
            raise stream_error(chunk.get("error", chunk))
        return self.feed_chunk(chunk)

    def feed_chunk(self, chunk: Mapping[str, Any]) -> tuple[RunEvent, ...]:
        """Feed one parsed chunk object; see `feed`."""
        self._chunks += 1
        if self._id is None:
            self._id = opt_str(chunk, "id")
        if self._model is None:
            self._model = opt_str(chunk, "model")
        usage = chunk.get("usage")
        if usage is not None:
            self._usage = usage_from_wire(usage)
        choices = chunk.get("choices")
        if not choices:
            return ()
        if not isinstance(choices, list):
            raise malformed_response("'choices' in a chunk is not a list", chunk)
        events: list[RunEvent] = []
        step = self._step
        for choice in choices:
            if not isinstance(choice, Mapping):
                raise malformed_response("a choice in a chunk is not an object", choice)
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta")
            if delta:
                if not isinstance(delta, Mapping):
                    raise malformed_response("'delta' is not an object", choice)
                content = delta.get("content")
                if content is not None:
                    if not isinstance(content, str):
                        raise malformed_response("'delta.content' is not a string", delta)
                    if self._content is None:
                        self._content = []
                    if content:
                        self._content.append(content)
                        events.append(_token_delta(step, content))
                refusal = delta.get("refusal")
                if refusal is not None:
                    if not isinstance(refusal, str):
                        raise malformed_response("'delta.refusal' is not a string", delta)
                    if self._refusal is None:
                        self._refusal = []
                    if refusal:
                        self._refusal.append(refusal)
                        events.append(_refusal_delta(step, refusal))
                name = delta.get("name")
                if isinstance(name, str) and self._name is None:
                    self._name = name
                tool_calls = delta.get("tool_calls")
                if tool_calls:
                    self._tool_calls(tool_calls, events)
            finish = choice.get("finish_reason")
            if isinstance(finish, str):
                self._finish = finish
        return tuple(events)

    def _tool_calls(self, fragments: Any, events: list[RunEvent]) -> None:
        if not isinstance(fragments, list):
            raise malformed_response("'delta.tool_calls' is not a list", fragments)
        calls = self._calls
        step = self._step
        for fragment in fragments:
            if not isinstance(fragment, Mapping):
                raise malformed_response("a tool-call fragment is not an object", fragment)
            index = fragment.get("index")
            frag_id = fragment.get("id")
            if type(index) is not int or index < 0:
                # Some servers omit the index: a new id opens a new call, otherwise
                # the fragment continues the last one.
                known = any(c.id == frag_id for c in calls.values())
                if not calls:
                    index = 0
                else:
                    index = max(calls) + 1 if isinstance(frag_id, str) and not known else max(calls)
            function = fragment.get("function") or {}
            if not isinstance(function, Mapping):
                raise malformed_response("'function' in a tool-call fragment is not an object", fragment)
            call = calls.get(index)
            if call is None:
                name = function.get("name")
                call = _Call(
                    frag_id if isinstance(frag_id, str) and frag_id else f"call_{index}",
                    name if isinstance(name, str) else "",
                )
                calls[index] = call
                events.append(ToolCallStarted(step=step, index=index, id=call.id, name=call.name))
            else:
                if not call.name:
                    name = function.get("name")
                    if isinstance(name, str):
                        call.name = name
            arguments = function.get("arguments")
            if arguments:
                text = arguments_text(arguments)
                call.parts.append(text)
                events.append(ToolCallArgumentsDelta(step=step, index=index, id=call.id, text=text))

    def reply(self) -> ModelReply:
        """The aggregated reply.

        Raises:
            StreamInterrupted: ``data: [DONE]`` has not been fed: the stream was cut.
        """
        if not self._done:
            raise StreamInterrupted(
                f"the stream ended after {self._chunks} chunk(s) without 'data: [DONE]': the reply is "
                f"incomplete ({self._progress()}); the model call failed and may be retried",
                retryable=True,
            )
        calls = tuple(
            ToolCallRequest(id=c.id, name=c.name, arguments="".join(c.parts))
            for _, c in sorted(self._calls.items())
        )
        return fast_reply(
            reply_message(
                None if self._content is None else "".join(self._content),
                calls,
                None if self._refusal is None else "".join(self._refusal),
                self._name,
            ),
            self._usage,
            self._finish if self._finish is not None else "unknown",
            self._model,
            self._id,
        )

    def _progress(self) -> str:
        text = sum(len(p) for p in self._content or ())
        return f"{text} characters of text and {len(self._calls)} tool call(s) received"
