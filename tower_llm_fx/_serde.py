"""Exact JSON encoding of core values (messages, effects, results, state, ...).

Theory of operation: every frozen attrs value registered here encodes as a JSON
object with a ``"type"`` tag naming its class and one key per field; tuples
encode as lists and decode back as tuples (core values never hold lists);
enums encode as ``{"type": <enum>, "value": ...}``. So for any registered
value ``v``: ``from_json(to_json(v)) == v`` — the property traces, sessions
and resume-after-crash rely on. Field defaults are *not* omitted: an encoded
value says everything, so old files keep their meaning if a default changes.

Other core modules register their own classes with `register` at import time.
"""

from __future__ import annotations

import enum
import importlib
from typing import Any, TypeVar

import attrs

from ._effects import Done, JoinPolicy, ModelCall, ModelParams, Parallel, StopReason, ToolCall
from ._errors import TowerLLMFXError
from ._messages import AssistantMessage, SystemMessage, ToolCallRequest, ToolMessage, UserMessage
from ._results import ModelReply, ToolError, ToolResult, Usage
from ._state import RunState
from ._tools import ToolSpec

__all__ = ["DecodeError", "from_json", "register", "registered", "to_json"]

_T = TypeVar("_T", bound=type[Any])

_CLASSES: dict[str, type[Any]] = {}


class DecodeError(TowerLLMFXError, ValueError):
    """JSON data does not describe a known value; ``path`` says where (``$.a[2].b``)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"at {path}: {problem}")
        self.path = path
        self.problem = problem


def register(cls: _T) -> _T:
    """Make an attrs class or an enum encodable; its tag is its class name.

    Raises:
        ValueError: another class already uses that name.
    """
    name = cls.__name__
    existing = _CLASSES.get(name)
    if existing is not None and existing is not cls:
        raise ValueError(f"two serialisable classes are named {name!r}: {existing!r} and {cls!r}")
    if not (attrs.has(cls) or issubclass(cls, enum.Enum)):
        raise TypeError(f"register() takes attrs classes and enums, got {cls!r}")
    _CLASSES[name] = cls
    return cls


def registered() -> dict[str, type[Any]]:
    """A copy of the tag → class table (the library's families included)."""
    _import_families()
    return dict(_CLASSES)


# The families register their classes when they are imported; a decoder may meet
# their tags (a trace holding ``Approve`` or ``SaveSession``) before anything
# imported them, so the first unknown tag imports them all, once.
_FAMILIES = (
    "tower_llm_fx.group",
    "tower_llm_fx.openai",
    "tower_llm_fx.resilience",
    "tower_llm_fx.sessions",
    "tower_llm_fx.trace",
    "tower_llm_fx.validation",
)
_families_imported = False


def _import_families() -> None:
    global _families_imported
    if not _families_imported:
        for name in _FAMILIES:
            importlib.import_module(name)
        _families_imported = True


for _cls in (
    SystemMessage,
    UserMessage,
    AssistantMessage,
    ToolMessage,
    ToolCallRequest,
    ToolSpec,
    ModelParams,
    ModelCall,
    ToolCall,
    Parallel,
    JoinPolicy,
    ModelReply,
    Usage,
    ToolResult,
    ToolError,
    StopReason,
    Done,
    RunState,
):
    register(_cls)


def to_json(value: Any) -> Any:
    """Encode a registered value (or a JSON scalar, tuple or list of them) as JSON data.

    >>> from tower_llm_fx import UserMessage
    >>> to_json(UserMessage(content="hi"))
    {'type': 'UserMessage', 'content': 'hi', 'name': None}
    """
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (tuple, list)):
        return [to_json(v) for v in value]
    cls = type(value)
    if isinstance(value, enum.Enum):
        _check_registered(cls)
        return {"type": cls.__name__, "value": value.value}
    if attrs.has(cls):
        _check_registered(cls)
        out: dict[str, Any] = {"type": cls.__name__}
        for f in attrs.fields(cls):
            if not f.init:
                continue
            out[f.alias or f.name] = to_json(getattr(value, f.name))
        return out
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    raise TypeError(f"cannot encode a {cls.__name__} as JSON; register its class with tower_llm_fx serde")


def _check_registered(cls: type[Any]) -> None:
    if _CLASSES.get(cls.__name__) is not cls:
        raise TypeError(f"{cls.__name__} is not registered for JSON encoding")


def from_json(data: Any, path: str = "$") -> Any:
    """Decode JSON data made by `to_json`.

    Raises:
        DecodeError: unknown type tag, missing or unexpected field, or an invalid value;
            the message names the path.

    >>> from tower_llm_fx import UserMessage
    >>> from_json({"type": "UserMessage", "content": "hi", "name": None}) == UserMessage(content="hi")
    True
    """
    if data is None or isinstance(data, (str, bool, int, float)):
        return data
    if isinstance(data, list):
        return tuple(from_json(v, f"{path}[{i}]") for i, v in enumerate(data))
    if not isinstance(data, dict):
        raise DecodeError(path, f"expected JSON data, got {type(data).__name__}")
    tag = data.get("type")
    if not isinstance(tag, str):
        raise DecodeError(path, "object has no string 'type' tag")
    cls = _CLASSES.get(tag)
    if cls is None and not _families_imported:
        _import_families()
        cls = _CLASSES.get(tag)
    if cls is None:
        raise DecodeError(path, f"unknown type {tag!r} (written by a newer version, or corrupted?)")
    if issubclass(cls, enum.Enum):
        try:
            return cls(data.get("value"))
        except ValueError:
            raise DecodeError(path, f"{data.get('value')!r} is not a valid {tag}") from None
    kwargs: dict[str, Any] = {}
    known = {f.alias or f.name for f in attrs.fields(cls) if f.init}
    unexpected = set(data) - known - {"type"}
    if unexpected:
        raise DecodeError(path, f"{tag} has no field(s) {sorted(unexpected)}")
    for key in known:
        if key in data:
            kwargs[key] = from_json(data[key], f"{path}.{key}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise DecodeError(path, f"invalid {tag}: {exc}") from None
