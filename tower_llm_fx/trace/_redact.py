"""Secrets never enter a trace: the built-in scrubber and user redaction hooks.

Theory of operation: effects carry no API keys or auth headers by design (the
interpreters own those), but a request knob (``ModelParams.extra``), a tool's
arguments or a message can still hold one. Every trace line is scrubbed as it
is encoded (`scrub_json`): string values under credential-like keys become
``[REDACTED]``, and strings that look like API keys or bearer tokens are
masked wherever they appear, including inside JSON text. The primitive
(`scrub_text`, `sensitive_key`) is the kernel's ``_secrets``, shared with error
messages and spans. A user hook (`Redactor`) masks anything else, on the JSON
form of an exchange.

Masking changes the recorded effect, so the replayer compares an effect that
differs from the recording once more after masking it the same way.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from tower_llm_fx._errors import ConfigurationError
from tower_llm_fx._secrets import REDACTED, scrub_text, sensitive_key
from tower_llm_fx._serde import DEFAULT, Codec

from ._model import Exchange

__all__ = ["REDACTED", "Redactor", "redact_exchange", "scrub_exchanges", "scrub_json", "scrub_text"]

Redactor = Callable[[dict[str, Any]], dict[str, Any]]
"""A redaction hook: takes ``{"effect": <JSON>, "result": <JSON>}`` and returns it masked."""

_sensitive = sensitive_key


def scrub_json(data: Any) -> Any:
    """Mask secrets in JSON data (as made by `to_json`): the built-in redaction.

    String values under credential-like keys (``api_key``, ``Authorization``,
    ``password``, …) become ``[REDACTED]``; strings anywhere that look like API
    keys or bearer tokens are masked in place (see `scrub_text`). Data without
    secrets is returned unchanged (the same object).

    >>> scrub_json({"type": "message.user", "content": "key: sk-abcdefghijklmnopqrstuvwx", "name": None})
    {'type': 'message.user', 'content': 'key: [REDACTED]', 'name': None}
    """
    if isinstance(data, str):
        return scrub_text(data)
    if isinstance(data, list):
        items = [scrub_json(x) for x in data]
        return data if all(a is b for a, b in zip(items, data, strict=True)) else items
    if isinstance(data, dict):
        out: dict[str, Any] = {}
        changed = False
        for k, val in data.items():
            new = REDACTED if isinstance(val, str) and val != REDACTED and _sensitive(k) else scrub_json(val)
            changed = changed or new is not val
            out[k] = new
        return out if changed else data
    return data


def redact_exchange(exchange: Exchange, hook: Redactor | None = None, *, codec: Codec = DEFAULT) -> Exchange:
    """``exchange`` with secrets scrubbed (`scrub_json`) and ``hook`` applied.

    Returns ``exchange`` itself when nothing changes. The hook receives
    ``{"effect": <JSON>, "result": <JSON>}`` (encoded by ``codec``, so type tags
    are wire names such as ``"effect.tool_call"``) and returns the masked data.

    Raises:
        ConfigurationError: the hook returned data that is not a valid exchange.

    >>> from tower_llm_fx import ToolCall, ToolResult
    >>> ex = Exchange(effect=ToolCall(id="c1", name="login", arguments='{"password": "hunter2"}'),
    ...               result=ToolResult.success(call_id="c1", name="login", content="ok"))
    >>> redact_exchange(ex).effect.arguments
    '{"password":"[REDACTED]"}'
    """
    data = {"effect": codec.encode(exchange.effect), "result": codec.encode(exchange.result)}
    cleaned = scrub_json(data)
    if hook is not None:
        cleaned = hook(json.loads(json.dumps(cleaned)))  # a private copy: the hook may mutate it
    elif cleaned is data:
        return exchange
    try:
        if not isinstance(cleaned, dict) or set(cleaned) != {"effect", "result"}:
            raise TypeError('it must return a dict with exactly the keys "effect" and "result"')
        return Exchange(
            effect=codec.decode(cleaned["effect"], "effect"), result=codec.decode(cleaned["result"], "result")
        )
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(
            f"the redaction hook returned data that is not a valid exchange: {exc}. Mask *values* "
            "(e.g. replace a string with '[REDACTED]') and keep every type tag and field."
        ) from None


def _dirty(value: Any, seen: dict[int, bool]) -> bool:
    """Whether `scrub_json` would change the JSON form of ``value`` (memoised by identity)."""
    t = type(value)
    if t is str:
        return bool(scrub_text(value) != value)
    if t is tuple or t is list:
        return any(_dirty(v, seen) for v in value)
    if t is dict:
        return any(
            (isinstance(v, str) and v != REDACTED and _sensitive(str(k))) or _dirty(v, seen)
            for k, v in value.items()
        )
    if attrs.has(t):
        known = seen.get(id(value))
        if known is None:
            known = False
            for f in attrs.fields(t):
                if not f.init:
                    continue
                v = getattr(value, f.name)
                if (isinstance(v, str) and v != REDACTED and _sensitive(f.alias or f.name)) or _dirty(
                    v, seen
                ):
                    known = True
                    break
            seen[id(value)] = known
        return known
    return False


def scrub_exchanges(exchanges: Sequence[Exchange], *, codec: Codec = DEFAULT) -> tuple[Exchange, ...]:
    """``exchanges`` with secrets scrubbed as `scrub_json` would on encoding.

    Clean exchanges are returned as they are (the same objects); values shared
    between exchanges (the conversation in every model call) are checked once.
    A dirty one goes through JSON with ``codec``.
    """
    seen: dict[int, bool] = {}
    return tuple(
        redact_exchange(ex, codec=codec) if _dirty(ex.effect, seen) or _dirty(ex.result, seen) else ex
        for ex in exchanges
    )
