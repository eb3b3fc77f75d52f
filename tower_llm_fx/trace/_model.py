"""Traces: the ordered journal of a run's ``(effect, result)`` exchanges.

Theory of operation (read before changing anything here):

* A `Trace` is data: a `TraceMeta` header (format version, library version,
  created-at, agent and model names, free-form tags) and a tuple of
  `Exchange` values, each one effect and the result it was answered with, in
  the order the run performed them. A ``Parallel`` batch is *one* exchange
  whose result is the tuple of tool results in call order, so a replay does
  not depend on the order in which the calls happened to complete.
* Rule 1: nothing here does I/O. The shell reads and writes files and
  supplies ``created_at`` (the core has no clock).
* Rule 2: an `Exchange` is checked when built: its result must be able to
  answer its effect, so a trace can always be folded back into a run state.
* The file format lives in ``_codec.py``, redaction in
  ``_redact.py``, summaries and statistics in ``_view.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, final

import attrs
from attrs import validators as v

from tower_llm_fx._effects import Effect, ModelCall, Parallel
from tower_llm_fx._errors import ConfigurationError, TowerLLMFXError
from tower_llm_fx._results import ModelReply, ToolResult
from tower_llm_fx._serde import DecodeError
from tower_llm_fx._unchecked import unchecked_factory

__all__ = [
    "TRACE_FORMAT",
    "TRACE_FORMAT_VERSION",
    "Exchange",
    "Trace",
    "TraceDecodeError",
    "TraceMeta",
    "check_trace_id",
    "new_exchange",
]

TRACE_FORMAT: Final = "tower_llm_fx.trace"
"""The ``format`` field of every trace header."""

TRACE_FORMAT_VERSION: Final = 2
"""The trace format version this library writes, and the newest it reads (it reads 1 too).

Version 2 tags values with stable wire names (``"message.user"``); version 1
tagged them with class names (``"UserMessage"``)."""


class TraceDecodeError(DecodeError):
    """A trace file or document is malformed, truncated, or from a newer version.

    Attributes:
        line: the 1-based line of the file (``None`` for a JSON document).
        field: where in that line, e.g. ``effect.messages[2].content`` (``None``
            when the whole line is at fault).
        problem: what is wrong there.
        source: the file or store entry, when the shell knows it.
    """

    def __init__(
        self, problem: str, *, line: int | None = None, field: str | None = None, source: str | None = None
    ) -> None:
        where = [] if source is None else [source]
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field {field}")
        # Past DecodeError's (path, problem) message, to the base that scrubs secrets.
        TowerLLMFXError.__init__(
            self, f"trace {', '.join(where)}: {problem}" if where else f"trace: {problem}"
        )
        self.path = field or "$"
        self.problem = problem
        self.line = line
        self.field = field
        self.source = source

    def at(self, source: str) -> TraceDecodeError:
        """The same error, naming ``source`` (a file path, a store key)."""
        return TraceDecodeError(self.problem, line=self.line, field=self.field, source=source)


# ---------------------------------------------------------------------------
# Values


def current_library_version() -> str:
    from tower_llm_fx import __version__

    return __version__


def _tags(value: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    items: object = value.items() if isinstance(value, Mapping) else value
    if isinstance(value, (str, bytes)) or not isinstance(items, Iterable):
        raise TypeError(f"tags must be a mapping of str to str, got {value!r}")
    pairs: dict[str, str] = {}
    for item in items:
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise TypeError(f"tags must be a mapping of str to str, got the item {item!r}")
        key, val = item
        if not isinstance(key, str) or not isinstance(val, str):
            raise TypeError(f"tags must map str to str; {key!r}: {val!r} is not")
        pairs[key] = val
    return tuple(sorted(pairs.items()))


def _version(_inst: object, _attr: object, value: int) -> None:
    if type(value) is not int or value < 1:
        raise ValueError(f"format_version must be a positive int, got {value!r}")


@final
@attrs.frozen(kw_only=True)
class TraceMeta:
    """The header of a trace: what wrote it, when, for which agent.

    ``created_at`` is an ISO 8601 timestamp supplied by the shell (the core has
    no clock). ``tags`` are free-form ``str → str`` labels, stored sorted.
    ``format_version`` is the version a decoded trace was read from (a new
    trace's is `TRACE_FORMAT_VERSION`); writers always write the current one.

    >>> TraceMeta(agent="calculator", tags={"prompt": "v2"}).tags
    (('prompt', 'v2'),)
    """

    format_version: int = attrs.field(default=TRACE_FORMAT_VERSION, validator=_version)
    library_version: str = attrs.field(factory=current_library_version, validator=v.instance_of(str))
    created_at: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    agent: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    model: str | None = attrs.field(default=None, validator=v.optional(v.instance_of(str)))
    tags: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_tags)

    def tag(self, key: str, default: str | None = None) -> str | None:
        """The value of tag ``key``, or ``default``."""
        return dict(self.tags).get(key, default)


def check_result(effect: Effect[Any], result: object) -> str | None:
    """Why ``result`` cannot answer ``effect`` (``None`` if it can)."""
    expected = type(effect).result_type
    if not isinstance(result, expected):
        return (
            f"a {type(effect).__name__} is answered by a {expected.__name__}, "
            f"but the result is a {type(result).__name__}"
        )
    if isinstance(effect, Parallel):
        assert isinstance(result, tuple)
        if len(result) != len(effect.calls) or not all(type(r) is ToolResult for r in result):
            return (
                f"a Parallel of {len(effect.calls)} calls is answered by a tuple of "
                f"{len(effect.calls)} ToolResults in call order, got {len(result)} item(s)"
            )
    return None


def _effect(_inst: object, _attr: object, value: object) -> None:
    if not isinstance(value, Effect):
        raise TypeError(f"effect must be an Effect (ModelCall, ToolCall, Parallel, ...), got {value!r}")


@final
@attrs.frozen(kw_only=True)
class Exchange:
    """One effect and the result it was answered with.

    Raises:
        TypeError: ``result`` cannot answer ``effect`` (a ``ToolCall`` needs a
            ``ToolResult``, a ``Parallel`` a tuple of them in call order, ...).

    >>> from tower_llm_fx import ToolCall, ToolResult
    >>> Exchange(effect=ToolCall(id="c1", name="add"), result=ToolResult.success(call_id="c1", name="add", content="3")).result.content
    '3'
    """

    effect: Effect[Any] = attrs.field(validator=_effect)
    result: Any = attrs.field()

    @result.validator
    def _check(self, _attr: object, value: object) -> None:
        problem = check_result(self.effect, value)
        if problem is not None:
            raise TypeError(problem)


def _exchanges(value: Sequence[Exchange]) -> tuple[Exchange, ...]:
    if type(value) is tuple and all(type(x) is Exchange for x in value):
        return value
    if not isinstance(value, Sequence) or isinstance(value, (str, bytes)):
        raise TypeError(f"exchanges must be a sequence of Exchange, got {type(value).__name__}")
    for i, x in enumerate(value):
        if not isinstance(x, Exchange):
            raise TypeError(f"exchanges[{i}] is a {type(x).__name__}, not an Exchange")
    return tuple(value)


@final
@attrs.frozen(kw_only=True)
class Trace:
    """A recorded run: a `TraceMeta` header and its exchanges in order.

    >>> from tower_llm_fx import ToolCall, ToolResult
    >>> ex = Exchange(effect=ToolCall(id="c1", name="add"), result=ToolResult.success(call_id="c1", name="add", content="3"))
    >>> trace = Trace(exchanges=[ex, ex])
    >>> len(trace.exchanges), len(trace.prefix(1).exchanges)
    (2, 1)
    """

    meta: TraceMeta = attrs.field(factory=TraceMeta, validator=v.instance_of(TraceMeta))
    exchanges: tuple[Exchange, ...] = attrs.field(default=(), converter=_exchanges)

    def prefix(self, count: int) -> Trace:
        """The same trace with only its first ``count`` exchanges."""
        if count < 0:
            raise ValueError(f"count must be >= 0, got {count}")
        return Trace(meta=self.meta, exchanges=self.exchanges[:count])


_exchange: Callable[[Effect[Any], object], Exchange] = unchecked_factory(Exchange, "effect", "result")


def new_exchange(effect: Effect[Any], result: object) -> Exchange:
    """Build an `Exchange` after checking the result fits the effect (the recorder's fast path).

    Raises:
        TypeError: as `Exchange`.
    """
    if type(effect) is not ModelCall or type(result) is not ModelReply:
        if not isinstance(effect, Effect):
            _effect(None, None, effect)
        problem = check_result(effect, result)
        if problem is not None:
            raise TypeError(problem)
    return _exchange(effect, result)


_TRACE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")  # whole string: fullmatch, not `$`


def check_trace_id(trace_id: object) -> str:
    """Return ``trace_id`` if it is safe as a file name and a key; raise otherwise.

    Raises:
        ConfigurationError: not 1-200 characters of letters, digits, ``_``, ``-``
            and ``.``, starting with a letter or digit, without ``..``.

    >>> check_trace_id("run-2024-01-01.a")
    'run-2024-01-01.a'
    >>> check_trace_id("../etc/passwd")
    Traceback (most recent call last):
    ...
    tower_llm_fx.ConfigurationError: trace id '../etc/passwd' is not allowed: ...
    """
    if not isinstance(trace_id, str) or not _TRACE_ID.fullmatch(trace_id) or ".." in trace_id:
        raise ConfigurationError(
            f"trace id {trace_id!r} is not allowed: use 1-200 letters, digits, '_', '-' and '.', "
            "starting with a letter or digit and without '..' (trace ids become file names)"
        )
    return trace_id
