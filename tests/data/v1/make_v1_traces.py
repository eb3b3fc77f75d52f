"""How the v1 traces in this folder were made: with the library as of commit 1cbee5c.

They are real recordings written by that version (format v1: class names as tags,
``ToolCall`` without ``agent``, a ``Parallel`` batch as one exchange). The tests in
``tests/interpreters/test_replay_v1.py`` replay and resume them with today's code.
This script only runs against that old version (``git worktree add /tmp/old 1cbee5c``,
then ``PYTHONPATH=/tmp/old python tests/data/v1/make_v1_traces.py <out dir>``); it is
kept as the record of what the fixtures hold, not run by the suite.
"""

import sys

import trio

import tower_llm_fx as fx
from interpreters import agent_interpreter, group_interpreter, run, run_group, sequence
from interpreters.layers import record
from interpreters.stores import DirectoryTraceStore
from tower_llm_fx.group import Group, handoff_to


@fx.tool
def lookup(key: str) -> str:
    "Triage's lookup."
    return f"triage:{key}"


@fx.tool(name="lookup")
def maths_lookup(key: str) -> str:
    "Maths' lookup: same name, different tool."
    return f"maths:{key}"


@fx.tool
def add(a: int, b: int) -> int:
    "Add."
    return a + b


@fx.tool
def fail(reason: str) -> str:
    "Always fails."
    raise RuntimeError(reason)


@fx.tool
async def wait(seconds: float) -> str:
    "Sleep (long enough for FAIL_FAST to cancel it)."
    await trio.sleep(seconds)
    return "woke"


TRIAGE = fx.Agent(name="triage", model="m", instructions="Route the user.", tools=(lookup,))
MATHS = fx.Agent(
    name="maths", model="m", instructions="Do sums.", tools=(maths_lookup, add), parallel_tools=True
)
GROUP = Group.builder().agent(TRIAGE).agent(MATHS).handoffs(handoff_to("maths", offered_to="triage")).build()

GROUP_REPLIES = [
    fx.assistant(None, fx.ToolCallRequest(id="t1", name="lookup", arguments='{"key": "user"}')),
    fx.assistant(None, fx.ToolCallRequest(id="t2", name="handoff_to_maths", arguments="{}")),
    fx.assistant(
        None,
        fx.ToolCallRequest(id="m1", name="lookup", arguments='{"key": "table"}'),
        fx.ToolCallRequest(id="m2", name="add", arguments='{"a": 2, "b": 3}'),
    ),
    "2 + 3 = 5",
]

SOLO = fx.Agent(
    name="solo", model="m", tools=(add, fail, wait), parallel_tools=True, join_policy=fx.JoinPolicy.FAIL_FAST
)
SOLO_REPLIES = [
    fx.assistant(
        None,
        fx.ToolCallRequest(id="a", name="fail", arguments='{"reason": "boom"}'),
        fx.ToolCallRequest(id="b", name="add", arguments='{"a": 1, "b": 1}'),
        fx.ToolCallRequest(id="c", name="wait", arguments='{"seconds": 5.0}'),
    ),
    "done",
]


async def main(out: str) -> None:
    store = DirectoryTraceStore(out)
    interp = record(into=store, trace_id="group_v1")(group_interpreter(GROUP, model=sequence(GROUP_REPLIES)))
    final = await run_group(GROUP, interp, "What is 2 + 3?")
    print(final.path, final.output)
    interp = record(into=store, trace_id="fail_fast_v1", agent=SOLO)(
        agent_interpreter(SOLO, model=sequence(SOLO_REPLIES))
    )
    final = await run(SOLO, interp, "go")
    print([m.content for m in final.messages])


if __name__ == "__main__":
    trio.run(main, sys.argv[1])
