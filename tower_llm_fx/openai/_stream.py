"""OpenAI streaming: ``chat.completion.chunk`` objects, both ways.

Theory: `OpenAIStream` is a sans-io state machine, like ``h11.Connection``.
The shell feeds it the ``data`` of each server-sent event; it yields the
streaming events each chunk produces and, after ``data: [DONE]``, the same
``ModelReply`` that `from_openai_response` gives for the completion
unstreamed (Rule 2; the reply helpers are shared with ``_reply``). A
stream cut before ``[DONE]`` is ``StreamInterrupted``, never a short reply.
``_chunks.to_openai_chunks`` encodes a reply as such a stream. The overview of the
whole codec is in ``tower_llm_fx.openai._messages``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, final

from tower_llm_fx._errors import MalformedResponse, StreamInterrupted
from tower_llm_fx._events import (
    ReasoningDelta,
    RefusalDelta,
    RunEvent,
    TokenDelta,
    ToolCallArgumentsDelta,
    ToolCallStarted,
)
from tower_llm_fx._json import canonical_json, loads_bounded
from tower_llm_fx._messages import Reasoning
from tower_llm_fx._results import ModelReply
from tower_llm_fx._serde import DecodeError
from tower_llm_fx._unchecked import unchecked_factory

from ._errors import clip, error_value, malformed_response, stream_error
from ._extra import extra_text, fold_into, fold_meta, split_extra
from ._messages import REASONING_KEYS, part_from_wire, reasoning_text
from ._reply import (
    BODY_KEYS,
    CHOICE_KEYS,
    MESSAGE_KEYS,
    NO_USAGE,
    arguments_text,
    choice_index,
    fast_call,
    fast_reply,
    groq_usage,
    opt_str,
    pin_fields,
    reply_message,
    usage_from_wire,
)

__all__ = ["OpenAIStream"]

pin_fields(TokenDelta, ("step", "text"))
pin_fields(RefusalDelta, ("step", "text"))
pin_fields(ReasoningDelta, ("step", "text"))
pin_fields(ToolCallArgumentsDelta, ("step", "index", "id", "text"))


# The stream's text deltas skip attrs' validators (`unchecked`): step and text are checked here.
_token_delta: Callable[[int, str], TokenDelta] = unchecked_factory(TokenDelta, "step", "text")
_refusal_delta: Callable[[int, str], RefusalDelta] = unchecked_factory(RefusalDelta, "step", "text")
_reasoning_delta: Callable[[int, str], ReasoningDelta] = unchecked_factory(ReasoningDelta, "step", "text")


@final
class _Call:
    __slots__ = ("extra", "id", "name", "parts")

    def __init__(self, id: str, name: str) -> None:
        self.id = id
        self.name = name
        self.parts: list[str] = []
        self.extra: dict[str, Any] | None = None


_PLAIN_DELTA = frozenset({"role", "content", "refusal", "name", "tool_calls"})
_PLAIN_CHOICE = frozenset({"index", "delta", "finish_reason", "logprobs"})
_PLAIN_CHUNK = frozenset({"id", "model", "choices", "usage", "object"})
# OpenAI pads every chunk with random "obfuscation" text (stream_options.include_obfuscation,
# on by default) to hide payload sizes: it carries no data and is not kept (normalisation).
_CHUNK_KEYS = BODY_KEYS | {"obfuscation"}
_FRAGMENT_KEYS = frozenset({"index", "id", "type", "function"})


# The text-carrying keys of OpenRouter's reasoning_details items; every other key of an
# item (type, format, index, id, signature) is repeated or arrives once.
_DETAIL_PIECES = frozenset({"text", "summary", "data"})


def _fold_details(details: list[Any], pieces: list[Any]) -> None:
    """Fold streamed ``reasoning_details`` items: an item with the ``index`` of one
    already held continues it (its text pieces concatenate), any other is appended."""
    for piece in pieces:
        index = piece.get("index") if isinstance(piece, Mapping) else None
        held = next(
            (d for d in details if isinstance(d, dict) and index is not None and d.get("index") == index),
            None,
        )
        if held is None or not isinstance(piece, Mapping):
            details.append(dict(piece) if isinstance(piece, Mapping) else piece)
            continue
        for key, value in piece.items():
            if value is None:
                continue
            old = held.get(key)
            if key in _DETAIL_PIECES and isinstance(old, str) and isinstance(value, str):
                held[key] = old + value
            elif old is None or old != value:
                held[key] = value


def _is_parts(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(p, Mapping) and isinstance(p.get("type"), str) for p in value
    )


def _append_part(
    parts: list[dict[str, Any]], part: Any, events: list[RunEvent], step: int, thinking: bool
) -> None:
    """Add one streamed content part, merging it into the last part when it continues it."""
    if not isinstance(part, Mapping) or not isinstance(part.get("type"), str):
        raise malformed_response("a streamed content part is not an object with a 'type'", part)
    kind = part["type"]
    last = parts[-1] if parts else None
    if kind == "text" and isinstance(part.get("text"), str):
        text = part["text"]
        if text:
            events.append(_reasoning_delta(step, text) if thinking else _token_delta(step, text))
        if (
            last is not None
            and last.keys() == {"type", "text"}
            and last["type"] == "text"
            and part.keys() == last.keys()
        ):
            last["text"] += text
            return
    elif kind == "thinking" and _is_parts(part.get("thinking")):
        if last is not None and last.get("type") == "thinking" and _is_parts(last.get("thinking")):
            for item in part["thinking"]:
                _append_part(last["thinking"], item, events, step, True)
            fold_into(last, {k: v for k, v in part.items() if k not in ("type", "thinking")})
            return
        inner: list[dict[str, Any]] = []
        for item in part["thinking"]:
            _append_part(inner, item, events, step, True)
        parts.append({**{k: v for k, v in part.items() if k != "thinking"}, "thinking": inner})
        return
    parts.append(dict(part))


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
    >>> from tower_llm_fx.openai import to_openai_chunks
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
        "_body_extra",
        "_calls",
        "_choice_extra",
        "_chunks",
        "_content",
        "_done",
        "_finish",
        "_id",
        "_message_extra",
        "_model",
        "_name",
        "_parts",
        "_reasoning",
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
        self._parts: list[dict[str, Any]] | None = None
        # What the chunks hold beyond the message's text and calls (empty: nothing).
        self._reasoning: dict[str, Any] = {}
        self._message_extra: dict[str, Any] = {}
        self._choice_extra: dict[str, Any] = {}
        self._body_extra: dict[str, Any] = {}

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
        if event == "error" or chunk.get("error") is not None or chunk.get("object") == "error":
            err = error_value(chunk)  # classified as the same error in a 200 body is
            raise stream_error(chunk if err is None else err)
        return self.feed_chunk(chunk)

    def feed_chunk(self, chunk: Mapping[str, Any]) -> tuple[RunEvent, ...]:
        """Feed one parsed chunk object; see `feed`."""
        self._chunks += 1
        if not self._id:  # Azure's first chunk (prompt_filter_results) has "id": "", "model": ""
            self._id = opt_str(chunk, "id") or None
        if not self._model:
            self._model = opt_str(chunk, "model") or None
        usage = chunk.get("usage")
        if usage is not None:
            self._usage = usage_from_wire(usage)
        if not chunk.keys() <= _PLAIN_CHUNK:
            extra = split_extra(chunk, _CHUNK_KEYS)
            if extra:
                fold_meta(self._body_extra, extra)
        choices = chunk.get("choices")
        if not choices:
            return ()
        if not isinstance(choices, list):
            raise malformed_response("'choices' in a chunk is not a list", chunk)
        events: list[RunEvent] = []
        step = self._step
        for i, choice in enumerate(choices):
            if not isinstance(choice, Mapping):
                raise malformed_response("a choice in a chunk is not an object", choice)
            if choice_index(choice, f"choices[{i}]") != 0:
                raise malformed_response(
                    f"stream chunk #{self._chunks} holds choice {choice.get('index')!r}: tower_llm_fx "
                    "replies hold one message, so ask for one completion (drop 'n' from ModelParams.extra)",
                    choice,
                )
            delta = choice.get("delta")
            if delta:
                if not isinstance(delta, Mapping):
                    raise malformed_response("'delta' is not an object", choice)
                content = delta.get("content")
                if content is not None:
                    self._feed_content(content, delta, events)
                refusal = delta.get("refusal")
                if refusal is not None:
                    if not isinstance(refusal, str):
                        raise malformed_response("'delta.refusal' is not a string", delta)
                    if self._refusal is None:
                        self._refusal = []
                    if refusal:
                        self._refusal.append(refusal)
                        events.append(_refusal_delta(step, refusal))
                name = opt_str(delta, "name", "delta.")
                if name is not None and self._name is None:
                    self._name = name
                tool_calls = delta.get("tool_calls")
                if tool_calls:
                    self._tool_calls(tool_calls, events)
                if not delta.keys() <= _PLAIN_DELTA:
                    self._feed_rest(delta, events)
            finish = opt_str(choice, "finish_reason", f"choices[{i}].")
            if finish is not None:
                self._finish = finish
            if not choice.keys() <= _PLAIN_CHOICE or choice.get("logprobs") is not None:
                extra = split_extra(choice, CHOICE_KEYS)
                if extra:
                    logprobs = extra.pop("logprobs", None)
                    if logprobs is not None:  # per-chunk pieces
                        fold_into(self._choice_extra, {"logprobs": logprobs})
                    fold_meta(self._choice_extra, extra)  # repeated in every chunk (content_filter_results)
        return tuple(events)

    def _feed_content(self, content: Any, delta: Mapping[str, Any], events: list[RunEvent]) -> None:
        if type(content) is str:
            if self._parts is not None:
                _append_part(self._parts, {"type": "text", "text": content}, events, self._step, False)
                return
            if self._content is None:
                self._content = []
            if content:
                self._content.append(content)
                events.append(_token_delta(self._step, content))
            return
        if not isinstance(content, list):
            raise malformed_response("'delta.content' is neither a string nor a list of parts", delta)
        if self._parts is None:
            self._parts = []
            if self._content:
                self._parts.append({"type": "text", "text": "".join(self._content)})
            self._content = None
        for part in content:
            _append_part(self._parts, part, events, self._step, False)

    def _feed_rest(self, delta: Mapping[str, Any], events: list[RunEvent]) -> None:
        """Reasoning fields and keys the codec does not name."""
        said = None  # the delta's reasoning text: one ReasoningDelta, whichever fields carry it
        for key in REASONING_KEYS:
            value = delta.get(key)
            if value is None:
                continue
            if key == "reasoning_details" and isinstance(value, list):
                details = self._reasoning.setdefault("reasoning_details", [])
                if isinstance(details, list):
                    _fold_details(details, value)
                else:
                    fold_into(self._reasoning, {key: value})
                if not said:
                    said = reasoning_text({"reasoning_details": value})
            else:
                fold_into(self._reasoning, {key: value})
                if not said and isinstance(value, str):
                    said = value
        if said:
            events.append(_reasoning_delta(self._step, said))
        extra = split_extra(delta, MESSAGE_KEYS)
        if extra:
            fold_into(self._message_extra, extra)

    def _tool_calls(self, fragments: Any, events: list[RunEvent]) -> None:
        if not isinstance(fragments, list):
            raise malformed_response("'delta.tool_calls' is not a list", fragments)
        calls = self._calls
        step = self._step
        for fragment in fragments:
            if not isinstance(fragment, Mapping):
                raise malformed_response("a tool-call fragment is not an object", fragment)
            index = fragment.get("index")
            if type(index) is str and index.isdigit():
                index = int(index)  # as for a choice's index
            frag_id = opt_str(fragment, "id", "delta.tool_calls[].")
            kind = fragment.get("type")
            if kind is not None and kind != "function":
                raise malformed_response(
                    f"a tool-call fragment has type {kind!r}: only function tool calls can be represented",
                    fragment,
                )
            if type(index) is not int or index < 0:
                # Some servers omit the index: a new id opens a new call, otherwise
                # the fragment continues the last one.
                known = any(c.id == frag_id for c in calls.values())
                if not calls:
                    index = 0
                else:
                    index = max(calls) + 1 if frag_id is not None and not known else max(calls)
            function = fragment.get("function") or {}
            if not isinstance(function, Mapping):
                raise malformed_response("'function' in a tool-call fragment is not an object", fragment)
            call = calls.get(index)
            name = opt_str(function, "name", "delta.tool_calls[].function.")
            if call is None:
                call = _Call(frag_id or f"call_{index}", name or "")
                calls[index] = call
                events.append(ToolCallStarted(step=step, index=index, id=call.id, name=call.name))
            elif not call.name and name is not None:
                call.name = name
            arguments = function.get("arguments")
            if arguments:
                text = arguments_text(arguments)
                call.parts.append(text)
                events.append(ToolCallArgumentsDelta(step=step, index=index, id=call.id, text=text))
            if not fragment.keys() <= _FRAGMENT_KEYS or not function.keys() <= {"name", "arguments"}:
                extra = split_extra(fragment, _FRAGMENT_KEYS) or {}
                inner = split_extra(function, {"name", "arguments"})
                if inner:
                    extra["function"] = inner
                if extra:
                    if call.extra is None:
                        call.extra = {}
                    fold_into(call.extra, extra)

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
            fast_call(c.id, c.name, "".join(c.parts), extra_text(c.extra))
            for _, c in sorted(self._calls.items())
        )
        try:
            content: Any
            if self._parts is not None:
                content = tuple(part_from_wire(p, f"$.content[{i}]") for i, p in enumerate(self._parts))
            else:
                content = None if self._content is None else "".join(self._content)
        except DecodeError as exc:
            raise malformed_response(str(exc)) from None
        raw = self._reasoning
        reasoning = Reasoning(text=reasoning_text(raw), raw=canonical_json(raw)) if raw else None
        usage = self._usage
        body_extra: dict[str, Any] | None = self._body_extra
        if usage is NO_USAGE and body_extra:
            groq, body_extra = groq_usage(body_extra)
            if groq is not None:
                usage = usage_from_wire(groq)
        return fast_reply(
            reply_message(
                content,
                calls,
                None if self._refusal is None else "".join(self._refusal),
                self._name,
                reasoning,
                extra_text(self._message_extra),
            ),
            usage,
            self._finish if self._finish is not None else "unknown",
            self._model,
            self._id,
            extra_text(body_extra),
            extra_text(self._choice_extra),
        )

    def _progress(self) -> str:
        text = sum(len(p) for p in self._content or ())
        return f"{text} characters of text and {len(self._calls)} tool call(s) received"
