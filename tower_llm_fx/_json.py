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
from typing import Any, TypeAlias

__all__ = ["JSON", "JSONObject", "canonical_json", "canonical_json_or_none", "compact_json", "loads_object"]

JSON: TypeAlias = bool | int | float | str | list["JSON"] | dict[str, "JSON"] | None
JSONObject: TypeAlias = dict[str, Any]


def canonical_json(value: object) -> str:
    """Return the canonical JSON text of ``value``; a ``str`` is taken as JSON text.

    >>> canonical_json({"b": 1, "a": [True, None]})
    '{"a":[true,null],"b":1}'
    >>> canonical_json('{"b": 1, "a": 2}')
    '{"a":2,"b":1}'
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValueError(f"expected JSON text or a JSON-compatible value, got {value!r}: {exc}") from None
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
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
    value = json.loads(text)
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a JSON object, got {type(value).__name__}")
    return dict(value)
