"""Secrets never enter a trace: built-in scrubbing on encode, plus user redaction hooks."""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tower_llm_fx as fx
import tower_llm_fx.trace
from tower_llm_fx import strategies as fxst
from tower_llm_fx.trace._redact import REDACTED, scrub_exchanges, scrub_text

KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"my key is {KEY}.", "my key is [REDACTED]."),
        ("Authorization: Bearer eyJhbGciOi.abc-def_ghi", "Authorization: Bearer [REDACTED]"),
        ("basic auth: Basic dXNlcjpwYXNzd29yZA==", "basic auth: Basic [REDACTED]"),
        ("token ghp_" + "a" * 36 + " here", "token [REDACTED] here"),
        ("aws AKIAABCDEFGHIJKLMNOP", "aws [REDACTED]"),
        ("nothing to see, sk-short", "nothing to see, sk-short"),
        ('{"api_key": "abc", "query": "cats"}', '{"api_key":"[REDACTED]","query":"cats"}'),
        ('{"headers": {"X-Api-Key": 12345}}', '{"headers":{"X-Api-Key":"[REDACTED]"}}'),
        (
            '{"openai_api_key": "x", "my_secret": "y"}',
            '{"my_secret":"[REDACTED]","openai_api_key":"[REDACTED]"}',
        ),
        ('{"max_tokens": 5, "tokens": 3}', '{"max_tokens": 5, "tokens": 3}'),
        ('{"api_key": ', '{"api_key": '),
    ],
)
def test_scrub_text(text: str, expected: str) -> None:
    assert scrub_text(text) == expected


def test_a_schema_with_a_password_property_is_left_intact() -> None:
    schema = '{"properties":{"password":{"type":"string"}},"type":"object"}'
    assert scrub_text(schema) == schema


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_ordinary_text_is_untouched(text: str) -> None:
    if (
        "sk-" not in text
        and "Bearer" not in text
        and "Basic" not in text
        and "://" not in text  # a URL with user:password@ is masked too
        and not text.lstrip().startswith(("{", "["))
    ):
        assert scrub_text(text) == text


def test_scrub_json_returns_clean_data_unchanged() -> None:
    data: dict[str, Any] = {"type": "UserMessage", "content": "hello", "name": None, "xs": [1, "a"]}
    assert fx.trace.scrub_json(data) is data
    dirty = {"type": "UserMessage", "content": f"use {KEY}", "name": None}
    assert fx.trace.scrub_json(dirty) == {"type": "UserMessage", "content": "use [REDACTED]", "name": None}
    assert fx.trace.scrub_json({"password": "x", "n": {"password": "y"}}) == {
        "password": REDACTED,
        "n": {"password": REDACTED},
    }
    assert fx.trace.scrub_json([f"{KEY}"]) == [REDACTED]


def test_encoded_traces_hold_no_keys_or_auth_headers() -> None:
    params = fx.ModelParams(
        extra={"extra_headers": {"Authorization": f"Bearer {KEY}"}, "api_key": KEY},
        metadata={"note": f"key {KEY}"},
    )
    call = fx.ModelCall(model="m", messages=(fx.user(f"here is my key {KEY}"),), params=params)
    tool = fx.ToolCall(id="c", name="login", arguments='{"user": "me", "password": "hunter2"}')
    trace = fx.trace.Trace(
        exchanges=(
            fx.trace.Exchange(effect=call, result=fx.ModelReply(message=fx.assistant(f"echo {KEY}"))),
            fx.trace.Exchange(
                effect=tool, result=fx.ToolResult.success(call_id="c", name="login", content="ok")
            ),
        )
    )
    text = fx.trace.encode_trace(trace)
    assert KEY not in text
    assert "hunter2" not in text
    assert "abcdefghijklmnop" not in text
    decoded = fx.trace.decode_trace(text)
    effect = decoded.exchanges[0].effect
    assert isinstance(effect, fx.ModelCall)
    assert effect.messages[0].content == "here is my key [REDACTED]"
    assert json.loads(effect.params.extra or "")["api_key"] == REDACTED
    assert KEY not in json.dumps(fx.trace.trace_to_json(trace))


def test_redact_exchange_applies_the_hook_to_the_json_form() -> None:
    ex = fx.trace.Exchange(
        effect=fx.ToolCall(id="c", name="lookup", arguments='{"ssn": "123-45-6789"}'),
        result=fx.ToolResult.success(call_id="c", name="lookup", content="Jane, 123-45-6789"),
    )
    assert fx.trace.redact_exchange(ex) is ex

    def mask_ssn(data: dict[str, Any]) -> dict[str, Any]:
        data["effect"]["arguments"] = '{"ssn": "***"}'
        data["result"]["content"] = data["result"]["content"].replace("123-45-6789", "***")
        return data

    masked = fx.trace.redact_exchange(ex, mask_ssn)
    assert masked.effect == fx.ToolCall(id="c", name="lookup", arguments='{"ssn": "***"}')
    assert masked.result.content == "Jane, ***"
    assert ex.result.content == "Jane, 123-45-6789", "the original is untouched"


@pytest.mark.parametrize(
    "hook",
    [
        lambda d: None,
        lambda d: {"effect": d["effect"]},
        lambda d: {**d, "effect": {"type": "ToolCall"}},
        lambda d: {**d, "result": {"type": "ModelReply", "message": {"type": "AssistantMessage"}}},
    ],
)
def test_a_hook_that_breaks_the_exchange_is_a_configuration_error(hook: Any) -> None:
    ex = fx.trace.Exchange(
        effect=fx.ToolCall(id="c", name="t"), result=fx.ToolResult.success(call_id="c", name="t", content="x")
    )
    with pytest.raises(
        fx.ConfigurationError, match="redaction hook returned data that is not a valid exchange"
    ):
        fx.trace.redact_exchange(ex, hook)


SECRETS = st.sampled_from(
    [
        f"key {KEY}",
        "Authorization: Bearer abcdefgh12345",
        '{"api_key": "x"}',
        '{"headers": {"Cookie": "c=1"}}',
    ]
)


@st.composite
def traces_with_secrets(draw: st.DrawFn) -> fx.trace.Trace:
    """Traces where some strings hold secrets: in messages, tool arguments and request knobs."""
    trace = draw(fxst.traces())
    exchanges = []
    for ex in trace.exchanges:
        effect, result = ex.effect, ex.result
        if draw(st.booleans()):
            if isinstance(effect, fx.ModelCall):
                effect = attrs.evolve(
                    effect,
                    messages=(*effect.messages, fx.user(draw(SECRETS))),
                    params=attrs.evolve(
                        effect.params, extra={"api_key": KEY} if draw(st.booleans()) else None
                    ),
                )
            elif isinstance(effect, fx.ToolCall):
                effect = attrs.evolve(effect, arguments=draw(SECRETS))
            if isinstance(result, fx.ToolResult):
                result = attrs.evolve(result, content=draw(SECRETS))
        exchanges.append(fx.trace.Exchange(effect=effect, result=result))
    return fx.trace.Trace(meta=trace.meta, exchanges=tuple(exchanges))


@given(traces_with_secrets())
def test_scrubbing_values_agrees_with_scrubbing_the_file(trace: fx.trace.Trace) -> None:
    scrubbed = scrub_exchanges(trace.exchanges)
    assert scrubbed == fx.trace.decode_trace(fx.trace.encode_trace(trace)).exchanges
    for before, after in zip(trace.exchanges, scrubbed, strict=True):
        assert (before is after) == (before == after), "clean exchanges are kept as they are"
