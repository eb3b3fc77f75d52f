"""The kernel's secret scrubber, and the error classes that pass their text through it."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
from tower_llm_fx._secrets import REDACTED, scrub_text, sensitive_key

BODY = "<html>WAF blocked: Bearer sk-abc12345 from https://user:pass@host/v1</html>"


def test_short_sk_keys_and_a_plain_token_key_are_masked() -> None:
    assert scrub_text("key sk-abc12345 here") == f"key {REDACTED} here"
    assert scrub_text("key sk-proj-abc12345") == f"key {REDACTED}"
    assert json.loads(scrub_text('{"token": "t0ps3cret", "q": 1}')) == {"token": REDACTED, "q": 1}
    assert sensitive_key("token") and not sensitive_key("max_tokens")
    assert scrub_text("risk-assessment and sk-short stay") == "risk-assessment and sk-short stay"


def test_a_malformed_response_quotes_no_secret() -> None:
    err = fx.MalformedResponse(f"the body is not JSON: {BODY.encode()!r}", provider_message=BODY)
    for text in (str(err), repr(err), err.message, err.provider_message or ""):
        assert "sk-abc12345" not in text and "user:pass" not in text and "Bearer sk" not in text


_SECRET_BODY = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=8)
_SECRETS = st.one_of(
    _SECRET_BODY.map(lambda s: f"sk-{s}"),
    _SECRET_BODY.map(lambda s: f"sk-proj-{s}"),
    _SECRET_BODY.map(lambda s: f"Bearer {s}"),
)


@given(st.text(max_size=30), _SECRETS, st.text(max_size=30))
def test_a_secret_embedded_in_text_never_survives(before: str, secret: str, after: str) -> None:
    out = scrub_text(f"{before} {secret} {after}")
    assert secret not in out


@given(_SECRET_BODY, st.sampled_from(["token", "api_key", "Authorization", "password"]), st.text(max_size=20))
def test_a_secret_under_a_credential_key_never_survives(secret: str, key: str, other: str) -> None:
    out = scrub_text(json.dumps({key: secret, "other": other}))
    assert secret not in out.replace(json.dumps(other), "")


_TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(
        st.sampled_from(
            [
                '"token"',
                "'api_key'",
                ": ",
                ":",
                '"x"',
                "'y'",
                "{",
                "}",
                "[",
                "]",
                ",",
                "?",
                "&",
                "=",
                "token",
                "sk-",
                "abcdefgh12",
                "Bearer ",
                "https://",
                "u:p@",
                "host",
                "\\u0020",
                '\\"',
                " ",
                "\n",
                "max_tokens",
            ]
        ),
        max_size=14,
    ).map("".join),
)


@given(_TEXT)
def test_scrubbing_is_idempotent(text: str) -> None:
    once = scrub_text(text)
    assert scrub_text(once) == once


def test_secrets_in_json_pairs_and_query_strings_inside_text_are_masked() -> None:
    assert (
        scrub_text('failed: {"token": "t0ps3cret", "n": 1}') == f'failed: {{"token": "{REDACTED}", "n": 1}}'
    )
    assert (
        scrub_text("params {'api_key': 'k3y', 'model': 'm'}")
        == f"params {{'api_key': '{REDACTED}', 'model': 'm'}}"
    )
    assert scrub_text("GET /v1?api_key=k3y&max_tokens=5") == f"GET /v1?api_key={REDACTED}&max_tokens=5"
    assert scrub_text('clipped {"password": "hunt') == f'clipped {{"password": "{REDACTED}"'
    assert scrub_text('{"max_tokens": 5} and "key_count": 3') == '{"max_tokens": 5} and "key_count": 3'


def test_a_secret_hidden_by_a_json_escape_is_masked() -> None:
    out = scrub_text('{"token": "t", "note": "Bearer\\u0020abcdefgh1234"}')
    assert json.loads(out) == {"token": REDACTED, "note": f"Bearer {REDACTED}"}
