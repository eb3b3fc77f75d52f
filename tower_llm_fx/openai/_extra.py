"""Unknown wire keys: split them off on decode, merge them back on encode, fold them in streams.

Theory: every object of the wire format (body, message, part, tool, tool call,
choice, delta, usage) may carry keys the codec does not name. Rule 1: they
are never dropped. The decoder puts them in the value's ``extra`` (canonical
JSON text of an object); the encoder deep-merges ``extra`` back into the
object it writes. Nested unknowns ride along as nested objects: an unknown key
inside ``function`` of a tool call is ``{"function": {"key": ...}}``. A key
whose value is ``null`` means the same as an absent key and is not kept (the
one normalisation). An ``extra`` that would set a key the codec writes itself
says a thing twice and raises ``ConfigurationError``.

Streams deliver the same keys in pieces; `fold_into` combines the pieces of
one key of a delta or a choice the way servers split them: strings
concatenate, lists extend, objects merge key by key (recursively), any other
value keeps the last one. Body-level keys are repeated in every chunk
instead, so `fold_meta` keeps a repeated value once.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from tower_llm_fx._errors import ConfigurationError
from tower_llm_fx._json import canonical_json

__all__ = ["fold_into", "fold_meta", "merge_extra", "split_extra"]


def split_extra(data: Mapping[str, Any], known: frozenset[str] | set[str]) -> dict[str, Any] | None:
    """The keys of ``data`` not in ``known`` whose value is not ``null``, or ``None``."""
    out: dict[str, Any] | None = None
    for key, value in data.items():
        if key not in known and value is not None:
            if out is None:
                out = {}
            out[key] = value
    return out


def extra_text(data: Mapping[str, Any] | None) -> str | None:
    """Canonical JSON text of an extra dict (``None`` for none)."""
    return None if not data else canonical_json(data)


def merge_extra(out: dict[str, Any], extra: str | None, where: str) -> dict[str, Any]:
    """Deep-merge the ``extra`` JSON object into ``out`` (in place) and return ``out``.

    Raises:
        ConfigurationError: ``extra`` sets a key ``out`` already has (not an object on both sides).
    """
    if extra is None:
        return out
    _merge(out, json.loads(extra), where)
    return out


def _merge(out: dict[str, Any], extra: Mapping[str, Any], where: str) -> None:
    for key, value in extra.items():
        mine = out.get(key)
        if key not in out:
            out[key] = value
        elif isinstance(mine, dict) and isinstance(value, Mapping):
            merged = dict(mine)
            _merge(merged, value, f"{where}.{key}")
            out[key] = merged
        else:
            raise ConfigurationError(
                f"{where}: extra sets {key!r}, which the value already sets as a field; "
                "set the field instead (every wire key must be said in exactly one place)"
            )


def fold_into(acc: dict[str, Any], piece: Mapping[str, Any]) -> None:
    """Fold one stream piece's keys into ``acc`` (see the module docstring)."""
    for key, value in piece.items():
        if value is None:
            continue
        acc[key] = fold_value(acc.get(key), value)


def fold_value(old: Any, new: Any) -> Any:
    if old is None:
        return _copy(new)
    if isinstance(old, str) and isinstance(new, str):
        return old + new
    if isinstance(old, list) and isinstance(new, list):
        old.extend(_copy(new))
        return old
    if isinstance(old, dict) and isinstance(new, Mapping):
        fold_into(old, new)
        return old
    return _copy(new)


def _copy(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def without(data: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """A copy of ``data`` without ``keys``."""
    drop = set(keys)
    return {k: v for k, v in data.items() if k not in drop}


def fold_meta(acc: dict[str, Any], piece: Mapping[str, Any]) -> None:
    """Fold the body-level keys of one chunk into ``acc``: servers repeat these in
    every chunk, so a value equal to the one kept is kept once; objects merge key
    by key, lists extend, any other new value replaces the old one."""
    for key, value in piece.items():
        if value is None:
            continue
        old = acc.get(key)
        if old is None:
            acc[key] = _copy(value)
        elif old == value:
            continue
        elif isinstance(old, dict) and isinstance(value, Mapping):
            fold_meta(old, value)
        elif isinstance(old, list) and isinstance(value, list):
            old.extend(_copy(value))
        else:
            acc[key] = _copy(value)
