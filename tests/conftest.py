"""Shared fixtures: every async test runs on trio and on asyncio; hypothesis profiles."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    from tests.support.fake_openai import FakeOpenAI

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=30, deadline=None)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("TOWER_LLM_FX_HYPOTHESIS", "ci"))


@pytest.fixture(params=["trio", "asyncio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each ``@pytest.mark.anyio`` test once per backend."""
    backend: str = request.param
    return backend


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAI]:
    """The session's fake OpenAI server, *not* reset (use ``fake_openai`` in tests;
    this one is for hypothesis tests, which must reset it per example)."""
    from tests.support.fake_openai import FakeOpenAI

    with FakeOpenAI.running() as server:
        yield server


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAI) -> FakeOpenAI:
    """A fake OpenAI chat-completions server on 127.0.0.1, reset for this test.

    Script it (``fake_openai.reply("Hi")``, ``.error(429, ...)``, ...) and point
    ``interpreters.openai(base_url=fake_openai.base_url)`` at it; see
    ``tests/support/fake_openai.py``.
    """
    fake_openai_server.reset()
    return fake_openai_server
