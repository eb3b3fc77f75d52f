"""The ToolContext a tool receives: its own in each call of a batch, the durable run's key, or a bare one."""

from __future__ import annotations

import json

import anyio
import pytest

import tower_llm_fx as fx
from interpreters import agent_interpreter, local_tools, run, sequence
from interpreters._tool_context import context_for, tool_context
from interpreters.stores import MemoryJournal
from tower_llm_fx.durable import ToolContext

pytestmark = pytest.mark.anyio


async def test_each_call_of_a_parallel_batch_gets_its_own_key() -> None:
    seen: dict[str, str | None] = {}

    @fx.tool
    async def pay(amount: int, ctx: ToolContext) -> str:
        """Pay."""
        await anyio.sleep(0.001 * amount)  # interleave the calls
        seen[ctx.call_id] = ctx.idempotency_key
        return "ok"

    agent = fx.Agent(model="m", tools=(pay,), parallel_tools=True)
    calls = [
        fx.ToolCallRequest(id=f"p{i}", name="pay", arguments=json.dumps({"amount": 3 - i})) for i in range(3)
    ]
    model = sequence([fx.assistant(None, *calls), "done"])
    await run(agent, agent_interpreter(agent, model=model), "Go.", journal=MemoryJournal(), run_id="r")
    assert seen == {"p0": "r/1/p0", "p1": "r/1/p1", "p2": "r/1/p2"}


async def test_a_context_set_for_another_call_is_not_handed_out() -> None:
    call = fx.ToolCall(id="c2", name="pay")
    with tool_context(ToolContext(call_id="c1", run_id="r", idempotency_key="r/0/c1")):
        assert context_for(call) == ToolContext(call_id="c2")
        assert context_for(fx.ToolCall(id="c1", name="pay")).idempotency_key == "r/0/c1"
    assert context_for(fx.ToolCall(id="c1", name="pay")) == ToolContext(call_id="c1")


async def test_local_tools_passes_the_context_by_the_declared_name() -> None:
    @fx.tool
    def whoami(context: ToolContext) -> str:
        """Say which call this is."""
        return f"{context.call_id} {context.idempotency_key}"

    tools = local_tools([whoami])
    with tool_context(ToolContext(call_id="c9", run_id="r", idempotency_key="r/2/c9", attempt=2)):
        result = await tools(fx.ToolCall(id="c9", name="whoami"))
    assert result.content == "c9 r/2/c9"
    # The model cannot pass it: it is not in the schema, so the argument is rejected.
    forged = await tools(fx.ToolCall(id="c9", name="whoami", arguments='{"context": {}}'))
    assert forged.error is not None and forged.error.kind == "invalid_arguments"
