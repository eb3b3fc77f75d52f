"""The one secret scrubber every message, span and trace passes through.

Theory of operation: an API key, a bearer token or a password can reach text we
show or store by many routes: an error body a server (or a WAF in front of it)
echoes back, a ``base_url`` with ``user:pass@`` in it, a tool's arguments, a
request knob. Rather than redact at each route, every route calls `scrub_text`:

* every error class (``TowerLLMFXError.__init__``) passes its arguments and
  ``message`` through it when constructed, as ``ProviderError`` does its
  ``provider_message``, so ``str()``, ``repr()``, pickles, logs and span
  exception events never quote a secret;
* the tracing layer passes span status descriptions and exception events
  through it (for exceptions that are not ours);
* the trace codec scrubs every line (``tower_llm_fx.trace.scrub_json`` builds on
  `scrub_text` and `sensitive_key`).

What it masks: ``sk-`` / ``sk-proj-`` style keys (8 or more characters after
``sk-``), ``Bearer`` / ``Basic`` credentials, GitHub, Slack and AWS access key
ids, the ``user:password@`` part of URLs, and values under credential-like keys
(``api_key``, ``Authorization``, ``token``, …): in JSON text, and in JSON or
Python-dict pairs and URL query parameters quoted inside other text.
"""

from __future__ import annotations

import json
import re
from typing import Any, Final

from ._json import loads_bounded

__all__ = ["REDACTED", "scrub_keys", "scrub_text", "sensitive_key"]

REDACTED: Final = "[REDACTED]"
"""What a masked value becomes."""

_SENSITIVE_KEYS = frozenset(
    {
        "api_key",
        "apikey",
        "x_api_key",
        "api_token",
        "token",
        "session_token",
        "authorization",
        "proxy_authorization",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "access_token",
        "refresh_token",
        "id_token",
        "auth_token",
        "bearer_token",
        "cookie",
        "set_cookie",
        "private_key",
    }
)
_SENSITIVE_SUFFIXES = ("_api_key", "_secret", "_password")
_KEY_HINT = re.compile(r"key|auth|secret|passw|token|cookie", re.I)
_SECRET_VALUE = re.compile(
    r"(?P<scheme>\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=-]{8,}"
    r"|(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{8,}"
    r"|(?P<url>://)[^/\s@:\"'<>]*:[^/\s@\"'<>]+(?P<at>@)"
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}"
    r"|\bxox[abpr]-[A-Za-z0-9-]{10,}"
    r"|\bAKIA[0-9A-Z]{16}\b"
)


# A credential-like key and its value inside free text that is not itself one JSON
# document: JSON or Python-dict pairs (``'failed: {"token": "x"}'``, ``{'api_key': 'x'}``) and
# URL query parameters (``?api_key=x``). `_sub_pair` keeps the pair when the key is harmless.
_PAIR = re.compile(
    r"""(?P<q>["'])(?P<key>[A-Za-z0-9_-]{1,64})(?P=q)(?P<sep>\s*:\s*)"""
    r"""(?P<val>"(?:[^"\\]|\\.)*(?:"|$)|'(?:[^'\\]|\\.)*(?:'|$)|[^\s,{}\[\]"']+)"""
    r"|(?P<qsep>[?&;])(?P<qkey>[A-Za-z0-9_.-]{1,64})=(?P<qval>[^&#\s\"'<>]+)"
)


def sensitive_key(key: str) -> bool:
    """Whether a value under ``key`` (a JSON key, header or field name) is a credential.

    >>> sensitive_key("X-Api-Key"), sensitive_key("token"), sensitive_key("max_tokens")
    (True, True, False)
    """
    k = key.lower().replace("-", "_")
    return k in _SENSITIVE_KEYS or k.endswith(_SENSITIVE_SUFFIXES)


def _sub(match: re.Match[str]) -> str:
    if match.group("url"):
        return "://" + REDACTED + "@"
    return (match.group("scheme") or "") + REDACTED


def _sub_pair(match: re.Match[str]) -> str:
    if match.group("qsep"):
        if not sensitive_key(match.group("qkey")):
            return match.group(0)
        return f"{match.group('qsep')}{match.group('qkey')}={REDACTED}"
    if not sensitive_key(match.group("key")):
        return match.group(0)
    q = match.group("q")
    return f"{q}{match.group('key')}{q}{match.group('sep')}{q}{REDACTED}{q}"


def scrub_text(text: str) -> str:
    """Replace API keys, bearer tokens and URL passwords inside ``text`` with ``[REDACTED]``.

    Also masks credential-like keys inside JSON object text (tool arguments,
    ``ModelParams.extra``), which is then re-encoded compactly.

    >>> scrub_text("use sk-abcdefghijklmnopqrstuvwx please")
    'use [REDACTED] please'
    >>> scrub_text("at https://user:hunter2@example.com/v1")
    'at https://[REDACTED]@example.com/v1'
    >>> scrub_text('{"headers": {"Authorization": "token 123"}, "q": 1}')
    '{"headers":{"Authorization":"[REDACTED]"},"q":1}'
    >>> scrub_text('refused {"token": "t0ps3cret", "max_tokens": 5} at /v1?api_key=k3y&n=1')
    'refused {"token": "[REDACTED]", "max_tokens": 5} at /v1?api_key=[REDACTED]&n=1'

    Idempotent: scrubbing scrubbed text changes nothing.
    """
    out = _SECRET_VALUE.sub(_sub, text) if _SECRET_VALUE.search(text) else text
    if not _KEY_HINT.search(out):
        return out
    if out[:1] in ("{", "["):
        try:
            doc = loads_bounded(out)
        except (ValueError, RecursionError):
            pass  # not one JSON document: scrub the pairs it quotes, below
        else:
            cleaned = scrub_keys(doc)
            if cleaned != doc:
                return json.dumps(cleaned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            return out
    return _PAIR.sub(_sub_pair, out)


def scrub_keys(doc: Any) -> Any:
    """``doc`` (parsed JSON) with every scalar under a `sensitive_key` replaced by ``[REDACTED]``,
    and the secrets inside its strings masked (JSON escapes can hide them from the text)."""
    if isinstance(doc, str):
        return _SECRET_VALUE.sub(_sub, doc) if _SECRET_VALUE.search(doc) else doc
    if isinstance(doc, dict):
        return {
            k: (REDACTED if sensitive_key(k) and not isinstance(val, (dict, list)) else scrub_keys(val))
            for k, val in doc.items()
        }
    if isinstance(doc, list):
        return [scrub_keys(x) for x in doc]
    return doc
