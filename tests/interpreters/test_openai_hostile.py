"""The live interpreter against hostile servers and inputs: no secret leaks, deep bodies fail typed."""

from __future__ import annotations

import base64
import logging
import socket

import pytest

import tower_llm_fx as fx
from interpreters import openai
from tests.support.fake_openai import FakeOpenAI

pytestmark = pytest.mark.anyio

CALL = fx.ModelCall(model="gpt-test", messages=(fx.user("hi"),))


async def test_userinfo_is_sent_as_basic_auth_and_never_logged(
    fake_openai: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    fake_openai.reply("ok")
    url = fake_openai.base_url.replace("://", "://user:pa55word@")
    model = openai(base_url=url, api_key="sk-test-0123456789abcdef")
    assert "pa55word" not in repr(model) and "user:" not in repr(model)
    with caplog.at_level(logging.INFO, logger="httpx"):
        async with model:
            await model(CALL)
    assert caplog.records, "httpx logs each request at INFO"
    assert all("pa55word" not in r.getMessage() and "user:" not in r.getMessage() for r in caplog.records)
    sent = dict(fake_openai.requests[0].headers)
    auth = {k.lower(): v for k, v in sent.items()}["authorization"]
    assert auth == "Basic " + base64.b64encode(b"user:pa55word").decode()


async def test_a_connection_error_quotes_no_password() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with openai(base_url=f"http://user:pa55word@127.0.0.1:{port}/v1") as model:
        with pytest.raises(fx.ProviderConnectionError) as info:
            await model(CALL)
    assert "pa55word" not in str(info.value) and "user:" not in repr(info.value)


async def test_a_deep_reply_body_is_a_malformed_response_not_a_recursion_error(
    fake_openai: FakeOpenAI,
) -> None:
    """Issue 15.1: hostile nesting in a reply body fails typed."""
    fake_openai.raw(200, b'{"choices": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    async with openai(
        base_url=fake_openai.base_url, api_key="sk-test-0123456789abcdef", stream=False
    ) as model:
        with pytest.raises(fx.MalformedResponse):
            await model(fx.ModelCall(model="m", messages=[fx.user("hi")]))


async def test_a_deep_error_body_is_still_a_provider_error(fake_openai: FakeOpenAI) -> None:
    fake_openai.raw(500, b'{"error": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    async with openai(
        base_url=fake_openai.base_url, api_key="sk-test-0123456789abcdef", stream=False
    ) as model:
        with pytest.raises(fx.ProviderError) as info:
            await model(fx.ModelCall(model="m", messages=[fx.user("hi")]))
    assert info.value.status == 500
