"""The trace file format: JSON Lines (and one-document JSON), versioned, pure.

Theory of operation (read before changing the format):

* Line 1 is the header: ``{"format": "tower_llm_fx.trace", "version": 2,
  "library_version": …, "created_at": …, "agent": …, "model": …, "tags": {…}}``.
  Line ``n + 2`` is exchange ``n``: ``{"i": n, "effect": …, "result": …}``,
  values encoded by a `tower_llm_fx.serde.Codec` (``codec=``, default: the
  library's). Appending is one write, and a crash leaves a readable prefix; a
  torn last line is reported as truncated.
* Versions: 2 tags values with wire names (``"effect.tool_call"``), 1 with
  class names (``"ToolCall"``). Writers write 2; readers read 1 and 2 (the codec
  reads both kinds of tag); ``TraceMeta.format_version`` says what was read.
* A ``ModelCall`` repeats the whole conversation, so storing each one in full
  makes a long run's file quadratic in its length. A model call may therefore
  refer to the previous model call of the same trace, exchange ``j``:
  ``"messages": {"extends": j, "append": [...]}`` (j's messages, then these),
  ``"tools": {"same_as": j}`` and ``"params": {"same_as": j}``. Writers use the
  references only when they hold; readers resolve them and reject a reference
  to anything but the latest model call. The full form is always valid.
* Rule: a file from a newer format version, or a malformed one, raises
  `TraceDecodeError` naming the line and the field; nothing is guessed.
  A value of a type the codec does not know is such an error too: decode with
  the codec it was written with.
* Secrets are scrubbed from every line as it is encoded (`scrub_json`).
* Decoding interns equal messages, tool specs and parameters, so the message
  of a model reply and the same message in later calls are one object: decoded
  traces stay small and the replayer's equality check stops at identity.
"""

from __future__ import annotations

import enum
import json
from typing import Any, TypeAlias

import attrs

from tower_llm_fx._effects import Effect, ModelCall, ModelParams, ToolCall
from tower_llm_fx._json import compact_json, loads_bounded
from tower_llm_fx._messages import AssistantMessage, SystemMessage, ToolCallRequest, ToolMessage, UserMessage
from tower_llm_fx._results import ModelReply, ToolError, ToolResult, Usage
from tower_llm_fx._serde import DEFAULT, Codec, DecodeError
from tower_llm_fx._tools import ToolSpec

from ._model import (
    TRACE_FORMAT,
    TRACE_FORMAT_VERSION,
    Exchange,
    Trace,
    TraceDecodeError,
    TraceMeta,
    check_result,
    current_library_version,
    new_exchange,
)
from ._redact import scrub_json

__all__ = [
    "DeltaBase",
    "decode_trace",
    "encode_exchange",
    "encode_header",
    "encode_trace",
    "next_base",
    "trace_from_json",
    "trace_to_json",
]

DeltaBase: TypeAlias = tuple[int, ModelCall]
"""The latest model call of a trace and its index: what the next model call may refer to."""


def next_base(index: int, exchange: Exchange, base: DeltaBase | None) -> DeltaBase | None:
    """The `DeltaBase` after writing or reading exchange ``index``."""
    effect = exchange.effect
    return (index, effect) if type(effect) is ModelCall else base


# ---------------------------------------------------------------------------
# Encoding


def _header_json(meta: TraceMeta) -> dict[str, Any]:
    return {
        "format": TRACE_FORMAT,
        "version": TRACE_FORMAT_VERSION,  # what this writes, whatever ``meta`` was read from
        "library_version": meta.library_version,
        "created_at": meta.created_at,
        "agent": meta.agent,
        "model": meta.model,
        "tags": dict(meta.tags),
    }


def encode_header(meta: TraceMeta) -> str:
    """The header line of a JSON Lines trace (ending in a newline); always the current version.

    >>> encode_header(TraceMeta(library_version="0.1.0", agent="a"))
    '{"format":"tower_llm_fx.trace","version":2,"library_version":"0.1.0","created_at":null,"agent":"a","model":null,"tags":{}}\\n'
    """
    return compact_json(_header_json(meta)) + "\n"


def _effect_json(effect: Effect[Any], base: DeltaBase | None, codec: Codec) -> Any:
    encode = codec.encode
    if type(effect) is not ModelCall or base is None:
        return encode(effect)
    j, prev = base
    data: dict[str, Any] = encode(attrs.evolve(effect, messages=(), tools=()))
    n = len(prev.messages)
    messages = effect.messages
    if n and len(messages) >= n and (messages[:n] == prev.messages):
        data["messages"] = {"extends": j, "append": encode(messages[n:])}
    else:
        data["messages"] = encode(messages)
    same_tools = effect.tools is prev.tools or effect.tools == prev.tools
    data["tools"] = {"same_as": j} if same_tools and effect.tools else encode(effect.tools)
    if effect.params is prev.params or effect.params == prev.params:
        data["params"] = {"same_as": j}
    return data


def _exchange_json(index: int, exchange: Exchange, base: DeltaBase | None, codec: Codec) -> dict[str, Any]:
    data = {
        "i": index,
        "effect": _effect_json(exchange.effect, base, codec),
        "result": codec.encode(exchange.result),
    }
    cleaned: dict[str, Any] = scrub_json(data)
    return cleaned


def encode_exchange(
    index: int, exchange: Exchange, base: DeltaBase | None = None, *, codec: Codec = DEFAULT
) -> str:
    """The JSON Lines line of exchange number ``index`` (ending in a newline).

    Secrets are scrubbed. With ``base`` (the trace's latest model call before
    this one, see `next_base`) a model call is written as a reference to it
    plus the new messages; without it, in full. ``codec`` encodes the values.

    Raises:
        TypeError: a value in the exchange is of a type ``codec`` does not know.
        ValueError: a float is NaN or infinite.
    """
    return compact_json(_exchange_json(index, exchange, base, codec)) + "\n"


def encode_trace(trace: Trace, *, codec: Codec = DEFAULT) -> str:
    """The JSON Lines text of ``trace``: a header line, then one line per exchange.

    >>> from tower_llm_fx import ToolCall, ToolResult
    >>> ex = Exchange(effect=ToolCall(id="c1", name="add"), result=ToolResult.success(call_id="c1", name="add", content="3"))
    >>> text = encode_trace(Trace(exchanges=[ex]))
    >>> len(text.splitlines()), decode_trace(text).exchanges == (ex,)
    (2, True)
    """
    parts = [encode_header(trace.meta)]
    base: DeltaBase | None = None
    for i, ex in enumerate(trace.exchanges):
        parts.append(encode_exchange(i, ex, base, codec=codec))
        base = next_base(i, ex, base)
    return "".join(parts)


def trace_to_json(trace: Trace, *, codec: Codec = DEFAULT) -> dict[str, Any]:
    """``trace`` as one JSON document: the header fields plus an ``"exchanges"`` list."""
    data = _header_json(trace.meta)
    items = []
    base: DeltaBase | None = None
    for i, ex in enumerate(trace.exchanges):
        line = _exchange_json(i, ex, base, codec)
        items.append({"effect": line["effect"], "result": line["result"]})
        base = next_base(i, ex, base)
    data["exchanges"] = items
    return data


# ---------------------------------------------------------------------------
# Decoding

# Small values that recur within a trace (the conversation in every model call, a
# reply's message in the next call) are decoded once per trace and shared; the last
# few thousand are also kept across traces (the system prompt, tool specs, request
# parameters of an agent recur in all its traces). Values are immutable, so sharing
# is invisible except in speed and memory. Messages hold only strings, None and tool
# calls, so their items are an exact key; classes with numbers or booleans key on
# the types too (``1``, ``1.0`` and ``true`` must not stand in for one another:
# validators tell them apart). A key holds the object's type tag, so a hit is
# checked to be of the class the tag stands for in the codec decoding it.
_INTERN_PLAIN: frozenset[type[Any]] = frozenset(
    {SystemMessage, UserMessage, AssistantMessage, ToolMessage, ToolCallRequest}
)
_INTERN_TYPED: frozenset[type[Any]] = frozenset({ToolSpec, ModelParams, Usage})
_INTERN_LIMIT = 4096  # values kept across traces
# Core classes whose fields take JSON lists as they are (their converters make tuples).
_LISTS_CONVERTED: frozenset[type[Any]] = (
    frozenset({ModelReply, ToolCall, ToolResult, ToolError, ModelParams}) | _INTERN_PLAIN
)
_interned: dict[Any, Any] = {}
# Tag → class, per codec (the codec is kept alive, so its id is not reused): filled on first sight.
_tables: dict[int, tuple[Codec, dict[str, type[Any]]]] = {}


def _classes_of(codec: Codec) -> dict[str, type[Any]]:
    entry = _tables.get(id(codec))
    if entry is None or entry[0] is not codec:
        if len(_tables) >= 64:
            _tables.clear()
        entry = _tables[id(codec)] = (codec, {})
    return entry[1]


_REF_FIELDS = ("messages", "tools", "params")
_HEADER_FIELDS = ("format", "version", "library_version", "created_at", "agent", "model", "tags")


def _tuplify(value: Any) -> Any:
    if type(value) is list:
        if any(type(x) is list for x in value):
            return tuple([_tuplify(x) for x in value])
        return tuple(value)
    return value


def _plain_key(obj: dict[str, Any]) -> Any:
    return tuple((k, tuple(val) if type(val) is list else val) for k, val in obj.items())


def _typed_key(obj: dict[str, Any]) -> Any:
    return tuple((k, type(val), _tuplify(val)) for k, val in obj.items())


def _resolve(name: str, ref: Any, base: DeltaBase | None) -> Any:
    """The value a reference in field ``name`` of a model call stands for; ValueError if invalid."""
    keys = {"extends", "append"} if name == "messages" else {"same_as"}
    if not isinstance(ref, dict) or set(ref) != keys:
        raise ValueError(f"a reference here has the keys {sorted(keys)}, got {sorted(ref)}")
    j = ref["extends" if name == "messages" else "same_as"]
    if base is None or j != base[0] or type(j) is not int:
        latest = "there is none before this line" if base is None else f"it is exchange {base[0]}"
        raise ValueError(
            f"refers to exchange {j!r}, but only the latest model call can be referred to, and {latest}"
        )
    prev = base[1]
    if name == "messages":
        append = ref["append"]
        if not isinstance(append, (list, tuple)):
            raise ValueError(f"'append' must be a list of messages, got {type(append).__name__}")
        return (*prev.messages, *append)
    return prev.tools if name == "tools" else prev.params


class _Decoder:
    """Decodes the exchange lines of one trace, in order."""

    def __init__(self, codec: Codec) -> None:
        self.codec = codec
        self.classes = _classes_of(codec)
        self.base: DeltaBase | None = None
        self.decode = json.JSONDecoder(object_hook=self.hook).decode
        self.memo: dict[Any, Any] = {}  # this trace's values; _interned holds recent ones of all traces

    def _known(self, key: Any) -> Any:
        hit = self.memo.get(key)
        if hit is None:
            hit = _interned.get(key)
            if hit is not None:
                self.memo[key] = hit
        return hit

    def hook(self, obj: dict[str, Any]) -> Any:
        tag = obj.get("type")
        if tag is None:
            return obj
        try:
            cls = self.classes[tag]
        except KeyError:  # first sight; an unknown tag raises, and the slow path reports it
            cls = self.classes[tag] = self.codec.class_of(tag)
        key: Any = None
        if cls in _INTERN_PLAIN:
            key = tuple(obj.items()) if cls is not AssistantMessage else _plain_key(obj)
            hit = self._known(key)
            if hit is not None and type(hit) is cls:
                return hit
        elif cls in _INTERN_TYPED:
            key = (tuple(obj.items()), tuple(map(type, obj.values())))
            try:
                hit = self._known(key)
            except TypeError:  # a list value (ModelParams.stop)
                key = _typed_key(obj)
                hit = self._known(key)
            if hit is not None and type(hit) is cls:
                return hit
        elif len(obj) == 2 and "value" in obj and issubclass(cls, enum.Enum):
            return cls(obj["value"])
        if cls in _LISTS_CONVERTED:
            del obj["type"]  # our own fresh dict: reuse it as the keyword arguments
            kwargs = obj
        else:
            kwargs = {
                k: (_tuplify(val) if type(val) is list else val) for k, val in obj.items() if k != "type"
            }
        if cls is ModelCall:
            for name in _REF_FIELDS:
                val = kwargs.get(name)
                if type(val) is dict:
                    kwargs[name] = _resolve(name, val, self.base)
        value = cls(**kwargs)
        if key is not None:
            self.memo[key] = value
            if len(_interned) >= _INTERN_LIMIT:
                _interned.clear()
            _interned[key] = value
        return value

    def line(self, text: str, lineno: int, index: int) -> Exchange:
        exchange = None
        try:
            data = self.decode(text)
            if type(data) is dict and data.keys() == {"i", "effect", "result"} and data["i"] == index:
                effect = data["effect"]
                if isinstance(effect, Effect):
                    result = _tuplify(data["result"])
                    if check_result(effect, result) is None:
                        exchange = new_exchange(effect, result)
        except Exception:  # anything odd: the slow path says exactly what and where
            exchange = None
        if exchange is None:
            exchange = _slow_line(text, lineno, index, self.base, self.codec)
        self.base = next_base(index, exchange, self.base)
        return exchange


def _slow_line(text: str, lineno: int, index: int, base: DeltaBase | None, codec: Codec) -> Exchange:
    try:
        data = loads_bounded(text)
    except ValueError as exc:
        raise TraceDecodeError(f"not valid JSON ({exc})", line=lineno) from None
    return _exchange_from_json(data, lineno, index, "", base, codec)


def _is_model_call(data: Any, codec: Codec) -> bool:
    tag = data.get("type") if isinstance(data, dict) else None
    try:
        return isinstance(tag, str) and codec.class_of(tag) is ModelCall
    except (KeyError, ImportError):
        return False


def _effect_from_json(data: Any, field: str, base: DeltaBase | None, lineno: int | None, codec: Codec) -> Any:
    refs: dict[str, Any] = {}
    if _is_model_call(data, codec):
        refs = {k: data[k] for k in _REF_FIELDS if isinstance(data.get(k), dict) and "type" not in data[k]}
    if not refs:
        return codec.decode(data, field)
    plain = dict(data)
    changes = {}
    for name, ref in refs.items():
        if name == "messages" and isinstance(ref.get("append"), list):
            ref = {**ref, "append": codec.decode(ref["append"], f"{field}.messages.append")}
        try:
            changes[name] = _resolve(name, ref, base)
        except ValueError as exc:
            raise TraceDecodeError(str(exc), line=lineno, field=f"{field}.{name}") from None
        plain[name] = {"type": codec.name_of(ModelParams)} if name == "params" else []
    return attrs.evolve(codec.decode(plain, field), **changes)


def _exchange_from_json(
    data: Any, lineno: int | None, index: int, prefix: str, base: DeltaBase | None, codec: Codec
) -> Exchange:
    if not isinstance(data, dict):
        raise TraceDecodeError(
            f"an exchange is a JSON object, got {type(data).__name__}",
            line=lineno,
            field=prefix.rstrip(".") or None,
        )
    required = ("i", "effect", "result") if lineno is not None else ("effect", "result")
    for key in required:
        if key not in data:
            raise TraceDecodeError("missing", line=lineno, field=f"{prefix}{key}")
    unexpected = sorted(set(data) - set(required))
    if unexpected:
        raise TraceDecodeError(
            f"unexpected field(s) {unexpected}; an exchange has {list(required)}",
            line=lineno,
            field=prefix.rstrip(".") or None,
        )
    if lineno is not None and (type(data["i"]) is not int or data["i"] != index):
        raise TraceDecodeError(
            f"expected exchange index {index}, got {data['i']!r} (a line is missing, duplicated or out of order)",
            line=lineno,
            field=f"{prefix}i",
        )
    try:
        effect = _effect_from_json(data["effect"], f"{prefix}effect", base, lineno, codec)
        result = codec.decode(data["result"], f"{prefix}result")
    except DecodeError as exc:
        if isinstance(exc, TraceDecodeError):
            raise
        raise TraceDecodeError(exc.problem, line=lineno, field=exc.path) from None
    if not isinstance(effect, Effect):
        raise TraceDecodeError(
            f"a {type(effect).__name__} is not an effect", line=lineno, field=f"{prefix}effect"
        )
    problem = check_result(effect, result)
    if problem is not None:
        raise TraceDecodeError(problem, line=lineno, field=f"{prefix}result")
    return new_exchange(effect, result)


def _meta_from_json(data: Any, lineno: int | None) -> TraceMeta:
    if not isinstance(data, dict):
        raise TraceDecodeError(
            f"a trace starts with a header object, got {type(data).__name__}; is this a tower_llm_fx trace?",
            line=lineno,
        )
    fmt = data.get("format")
    if fmt != TRACE_FORMAT:
        raise TraceDecodeError(
            f"not a tower_llm_fx trace: expected {TRACE_FORMAT!r}, got {fmt!r}", line=lineno, field="format"
        )
    version = data.get("version")
    if type(version) is not int or version < 1:
        raise TraceDecodeError(
            f"expected a format version (a positive integer; this tower_llm_fx reads 1 to "
            f"{TRACE_FORMAT_VERSION}), got {version!r}: the header is damaged",
            line=lineno,
            field="version",
        )
    if version > TRACE_FORMAT_VERSION:
        raise TraceDecodeError(
            f"this trace uses format version {version} (written by tower_llm_fx "
            f"{data.get('library_version')}); tower_llm_fx {current_library_version()} reads versions up to "
            f"{TRACE_FORMAT_VERSION}. Upgrade tower_llm_fx to read it.",
            line=lineno,
            field="version",
        )
    allowed = set(_HEADER_FIELDS) | ({"exchanges"} if lineno is None else set())
    unexpected = sorted(set(data) - allowed)
    if unexpected:
        raise TraceDecodeError(f"unknown header field(s) {unexpected}", line=lineno, field=unexpected[0])
    if not isinstance(data.get("library_version"), str):
        raise TraceDecodeError(
            f"expected a string, got {data.get('library_version')!r}", line=lineno, field="library_version"
        )
    for key in ("created_at", "agent", "model"):
        if not isinstance(data.get(key), (str, type(None))):
            raise TraceDecodeError(
                f"expected a string or null, got {data.get(key)!r}", line=lineno, field=key
            )
    tags = data.get("tags", {})
    if not isinstance(tags, dict) or not all(isinstance(t, str) for t in tags.values()):
        raise TraceDecodeError(f"expected an object of strings, got {tags!r}", line=lineno, field="tags")
    return TraceMeta(
        format_version=version,
        library_version=data["library_version"],
        created_at=data.get("created_at"),
        agent=data.get("agent"),
        model=data.get("model"),
        tags=tags,
    )


def trace_from_json(data: Any, *, codec: Codec = DEFAULT) -> Trace:
    """Decode a JSON document made by `trace_to_json` (format 1 or 2), values with ``codec``.

    Raises:
        TraceDecodeError: malformed, or written by a newer format version.
    """
    meta = _meta_from_json(data, None)
    items = data.get("exchanges")
    if not isinstance(items, list):
        raise TraceDecodeError(f"expected a list, got {type(items).__name__}", field="exchanges")
    exchanges = []
    base: DeltaBase | None = None
    for i, item in enumerate(items):
        exchange = _exchange_from_json(item, None, i, f"exchanges[{i}].", base, codec)
        exchanges.append(exchange)
        base = next_base(i, exchange, base)
    return Trace(meta=meta, exchanges=tuple(exchanges))


def decode_trace(text: str, *, allow_truncated: bool = False, codec: Codec = DEFAULT) -> Trace:
    """Decode a trace from JSON Lines text (or a JSON document from `trace_to_json`).

    Format versions 1 and 2 are read; ``meta.format_version`` says which it was.

    Args:
        text: the file's content.
        allow_truncated: drop a torn last line (the file ends mid-line, as when
            the writer crashed) instead of raising.
        codec: decodes the values (default: the library's; pass the codec the
            trace was written with if it holds types of your own).

    Raises:
        TraceDecodeError: malformed, truncated, or written by a newer format
            version; the message names the line and the field.
    """
    if not text.strip():
        raise TraceDecodeError("the trace is empty: expected a header line", line=1)
    lines = text.split("\n")
    first = next(i for i, ln in enumerate(lines) if ln.strip())
    try:
        header = loads_bounded(lines[first])
    except ValueError:
        try:  # a pretty-printed JSON document?
            document = loads_bounded(text)
        except ValueError:
            raise TraceDecodeError("the header is not valid JSON", line=first + 1) from None
        return trace_from_json(document, codec=codec)
    if isinstance(header, dict) and "exchanges" in header:
        if any(ln.strip() for ln in lines[first + 1 :]):
            raise TraceDecodeError("a JSON trace document must be the only thing in the file", line=first + 2)
        return trace_from_json(header, codec=codec)
    meta = _meta_from_json(header, first + 1)
    decoder = _Decoder(codec)
    exchanges: list[Exchange] = []
    last = len(lines) - 1
    while last > first and not lines[last].strip():
        last -= 1
    torn = not text.endswith("\n")
    for n in range(first + 1, last + 1):
        line = lines[n]
        if not line.strip():
            continue
        if n == last and torn:
            try:
                exchanges.append(decoder.line(line, n + 1, len(exchanges)))
            except TraceDecodeError as exc:
                if allow_truncated:
                    break
                raise TraceDecodeError(
                    f"the file ends in the middle of exchange {len(exchanges)} ({exc.problem}); the writer "
                    f"probably crashed. Load it with allow_truncated=True to get the {len(exchanges)} "
                    "complete exchange(s) before it.",
                    line=n + 1,
                ) from None
            continue
        exchanges.append(decoder.line(line, n + 1, len(exchanges)))
    return Trace(meta=meta, exchanges=tuple(exchanges))
