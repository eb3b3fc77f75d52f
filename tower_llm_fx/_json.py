"""JSON helpers shared by the core.

Theory of operation: values in effects and state must be hashable and compare
by value, but JSON objects are dicts. Wherever a field holds an arbitrary JSON
document (a tool's parameter schema, a ``response_format``, passthrough request
fields) we store its *canonical text*: ``json.dumps`` with sorted keys and no
whitespace. Two documents are equal exactly when their canonical texts are, the
text is hashable, and it round-trips through any JSON encoder unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final, TypeAlias

import orjson

__all__ = [
    "JSON",
    "MAX_JSON_DEPTH",
    "JSONDepthError",
    "JSONObject",
    "canonical_json",
    "canonical_json_or_none",
    "compact_json",
    "json_depth_exceeds",
    "loads_bounded",
    "loads_object",
]

JSON: TypeAlias = bool | int | float | str | list["JSON"] | dict[str, "JSON"] | None
JSONObject: TypeAlias = dict[str, Any]

#: How deep JSON arrays and objects may nest in anything the library decodes
#: (wire replies, stream chunks, error bodies, tool arguments, traces, session
#: records). Real documents nest a few dozen levels at most; a hostile or broken
#: peer can send 100k levels, which would otherwise crash the decoder (or the
#: code walking the value) with ``RecursionError`` instead of a typed error.
MAX_JSON_DEPTH = 512


class JSONDepthError(ValueError):
    """JSON text or a value nests deeper than the allowed depth (a ``ValueError``)."""


def json_depth_exceeds(value: object, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether ``value``'s lists/tuples/dicts nest more than ``max_depth`` levels (checked without recursion).

    >>> json_depth_exceeds([[1]], 2), json_depth_exceeds([[[1]]], 2)
    (False, True)
    """
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if depth >= max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list, tuple)))
    return False


# Every digit becomes "0" and every other byte " ": a 19-digit run is then a substring
# search, which (with bytes.translate) is far cheaper than a regular expression.
_DIGITS_ONLY: Final = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_RUN: Final = b"0" * 19


def _may_hold_a_long_integer(text: str | bytes | bytearray) -> bool:
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return _LONG_RUN in data.translate(_DIGITS_ONLY)


def loads_bounded(text: str | bytes | bytearray, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``json.loads`` that refuses documents nesting deeper than ``max_depth``.

    Raises ``JSONDepthError`` (a ``ValueError``) for too deep a document and
    ``ValueError`` for anything that is not JSON (including bytes that are not
    UTF-8, and ``NaN``, ``Infinity`` or a number too large for a float, which
    JSON does not have), never ``RecursionError``.

    >>> loads_bounded("[[1]]")
    [[1]]
    >>> loads_bounded("[" * 600 + "]" * 600)
    Traceback (most recent call last):
    ...
    tower_llm_fx.serde.JSONDepthError: the JSON nests deeper than 512 levels
    """
    try:
        # orjson is several times faster; it reads what json reads except integers
        # beyond 64 bits (as floats: so any 19-digit run goes to json), and it refuses
        # lone surrogates, other encodings and very deep nesting, which json then reads
        # or refuses as it always did. Both refuse NaN and infinities.
        if not _may_hold_a_long_integer(text):
            try:
                value = orjson.loads(text)
            except orjson.JSONDecodeError:
                value = _strict_loads(text)
        else:
            value = _strict_loads(text)
    except RecursionError:
        raise JSONDepthError(f"the JSON nests deeper than {max_depth} levels") from None
    # Nesting deeper than max_depth takes at least 2 * (max_depth + 1) bracket characters,
    # so short documents (every stream chunk, most tool arguments) skip the walk.
    if len(text) > 2 * max_depth and isinstance(value, (dict, list)) and json_depth_exceeds(value, max_depth):
        raise JSONDepthError(f"the JSON nests deeper than {max_depth} levels")
    return value


def _not_json(token: str) -> Any:
    raise ValueError(f"{token} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if value in (_INF, -_INF):
        raise ValueError(f"the number {text[:40]} is too large for a float")
    return value


_INF: Final = float("inf")
_STRICT: Final = json.JSONDecoder(parse_constant=_not_json, parse_float=_finite)


def _strict_loads(text: str | bytes | bytearray) -> Any:
    """``json.loads`` (bytes in any encoding it detects), refusing NaN and infinities."""
    if not isinstance(text, str):
        text = bytes(text).decode(json.detect_encoding(text), "surrogatepass")
    elif text.startswith("\ufeff"):
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    return _STRICT.decode(text)


_CANONICAL: Final = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
).encode


def canonical_json(value: object) -> str:
    """Return the canonical JSON text of ``value``; a ``str`` is taken as JSON text.

    >>> canonical_json({"b": 1, "a": [True, None]})
    '{"a":[true,null],"b":1}'
    >>> canonical_json('{"b": 1, "a": 2}')
    '{"a":2,"b":1}'
    """
    if isinstance(value, str):
        try:
            value = loads_bounded(value)
        except ValueError as exc:
            raise ValueError(f"expected JSON text or a JSON-compatible value, got {value!r}: {exc}") from None
    try:
        return _CANONICAL(value)
    except RecursionError:
        raise JSONDepthError("value is not JSON-serialisable: it nests too deep") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"value is not JSON-serialisable: {exc}") from None


def canonical_json_or_none(value: object) -> str | None:
    """Like `canonical_json`, but ``None`` stays ``None`` (meaning "not set")."""
    return None if value is None else canonical_json(value)


def compact_json(value: object) -> str:
    r"""JSON text with no whitespace, safe to write as UTF-8 (for files and databases).

    Non-ASCII text is kept as is, except when it holds a lone surrogate (models
    do emit them), which cannot be encoded as UTF-8: then the whole document is
    written with ASCII escapes. Raises ``ValueError`` for NaN or infinity.

    >>> compact_json({"a": "é"}), compact_json({"a": "\ud800"})
    ('{"a":"é"}', '{"a":"\\ud800"}')
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text


def loads_object(text: str) -> dict[str, Any]:
    """Parse JSON text that must hold an object; raise ``ValueError`` otherwise."""
    value = loads_bounded(text)
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return dict(value)
