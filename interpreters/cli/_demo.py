"""The demo agent: a calculator run on the scripted interpreter, no network, no key."""

from __future__ import annotations

import tower_llm_fx as fx
from interpreters._run import agent_interpreter, run
from interpreters._scripted import sequence


@fx.tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: the first addend
        b: the second addend
    """
    return a + b


@fx.tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def _call(id: str, name: str, arguments: str) -> fx.ToolCallRequest:
    return fx.ToolCallRequest(id=id, name=name, arguments=arguments)


AGENT = (
    fx.Agent.builder()
    .model("gpt-4o-mini")
    .name("calculator")
    .instructions("You are a calculator. Use the tools; never do arithmetic yourself.")
    .tools(add, multiply)
    .parallel_tools()
    .policy(fx.until_no_tool_calls() | fx.max_steps(5))
    .build()
)

# What a model would answer, scripted: two tool calls at once, then the answer.
SCRIPT = [
    fx.assistant(
        None, _call("call_1", "add", '{"a": 2, "b": 3}'), _call("call_2", "multiply", '{"a": 4, "b": 5}')
    ),
    fx.assistant("2 + 3 = 5 and 4 * 5 = 20."),
]


def transcript(state: fx.RunState) -> str:
    """A readable transcript of a run."""
    lines = []
    for m in state.messages:
        if isinstance(m, fx.AssistantMessage):
            for c in m.tool_calls:
                lines.append(f"assistant → {c.name}({c.arguments})  [{c.id}]")
            if m.content is not None:
                lines.append(f"assistant: {m.content}")
        elif isinstance(m, fx.ToolMessage):
            lines.append(f"tool      ← {m.content}  [{m.tool_call_id}]")
        else:
            lines.append(f"{m.role:9} : {m.content}")
    return "\n".join(lines)


async def demo() -> fx.RunState:
    """Run the calculator agent on a scripted model and print what happened."""
    model = sequence(SCRIPT)
    final = await run(AGENT, agent_interpreter(AGENT, model=model), "What are 2 + 3 and 4 * 5?")
    model.assert_consumed()
    print(transcript(final))
    print(
        f"\nstopped: {final.stop.kind if final.stop else '?'} after {final.steps} steps, "
        f"{final.model_calls} model calls, {final.tool_invocations} tool calls"
    )
    return final
