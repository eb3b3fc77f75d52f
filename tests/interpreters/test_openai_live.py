"""Opt-in tests against the real OpenAI API: skipped unless ``OPENAI_API_KEY`` is set.

    OPENAI_API_KEY=sk-... uv run pytest -m live tests/interpreters/test_openai_live.py

``OPENAI_LIVE_MODEL`` picks the model (default ``gpt-4o-mini``). Each test
makes one or two short calls.
"""

from __future__ import annotations

import os

import pytest

import tower_llm_fx as fx
from interpreters import agent_interpreter, openai, run, stream

pytestmark = [
    pytest.mark.live,
    pytest.mark.anyio,
    pytest.mark.skipif(not os.environ.get("OPENAI_API_KEY"), reason="OPENAI_API_KEY is not set"),
]

MODEL = os.environ.get("OPENAI_LIVE_MODEL", "gpt-4o-mini")


@pytest.fixture
def anyio_backend() -> str:
    return "trio"  # one backend is enough against the real API


@fx.tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


AGENT = fx.Agent(
    model=MODEL,
    instructions="You are a calculator. Always use the add tool, then answer with just the number.",
    tools=(add,),
    params=fx.ModelParams(temperature=0, max_tokens=50),
)


async def test_live_run_with_a_tool() -> None:
    async with openai() as model:
        final = await run(AGENT, agent_interpreter(AGENT, model=model), "What is 1234 + 4321?")
    assert final.output is not None and "5555" in final.output
    assert final.tool_invocations >= 1
    assert final.usage.prompt_tokens > 0


async def test_live_stream_matches_its_final_state() -> None:
    async with (
        openai() as model,
        stream(AGENT, agent_interpreter(AGENT, model=model), "What is 20 + 22?") as events,
    ):
        seen = [e async for e in events]
    final = events.final
    assert final is not None and final.output is not None and "42" in final.output
    tokens = "".join(e.text for e in seen if isinstance(e, fx.TokenDelta) and e.step == final.steps)
    assert tokens == final.output
    assert all(e.usage.total_tokens > 0 for e in seen if isinstance(e, fx.StepFinished))


async def test_live_bad_model_is_not_found() -> None:
    async with openai() as model:
        with pytest.raises(fx.NotFoundError) as info:
            await model(fx.ModelCall(model="no-such-model-tower-llm-fx", messages=[fx.user("hi")]))
    assert info.value.request_id
