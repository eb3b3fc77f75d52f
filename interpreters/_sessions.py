"""`run_session`: run an agent on a stored session (load, append the input, save each step).

It is ``run(with_session(agent, session_id), with_store(store)(interpreter), input).run``:
kept as a name because it wires the store and returns the conversation.
"""

from __future__ import annotations

from collections.abc import Sequence

from tower_llm_fx import Agent, Message, RunState
from tower_llm_fx.sessions import (
    CompactionPolicy,
    with_session,
)

from ._run import run
from ._types import Interpreter
from .layers._sessions import with_store

__all__ = ["run_session"]


async def run_session(
    agent: Agent,
    interpreter: Interpreter,
    input: str | Sequence[Message] = (),
    *,
    session_id: str,
    store: Interpreter | None = None,
    compaction: CompactionPolicy | None = None,
) -> RunState:
    """Run ``agent`` on a stored session: load its history, append ``input``, save each step.

    The returned state's messages are the whole conversation (history included).
    An empty ``input`` continues the session where it stopped.

    Args:
        agent: the agent to run.
        interpreter: performs model and tool calls (and session effects if
            ``store`` is not given).
        input: the user's new text or messages.
        session_id: the session to load and append to.
        store: the session store (`memory_store`, ``open_sqlite_store``).
        compaction: compact the conversation when this policy says so.

    Raises:
        SessionConflict: another run appended to the session during this run;
            every step saved before the conflict is kept.

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import agent_interpreter, sequence
    >>> from interpreters.stores import memory_store
    >>> agent, store = fx.Agent(model="demo"), memory_store()
    >>> model = sequence(["Hello!", "You said hi."])
    >>> async def main():
    ...     await run_session(agent, agent_interpreter(agent, model=model), "hi", session_id="s1", store=store)
    ...     final = await run_session(agent, agent_interpreter(agent, model=model), "what did I say?", session_id="s1", store=store)
    ...     return [m.content for m in final.messages]
    >>> trio.run(main)
    ['hi', 'Hello!', 'what did I say?', 'You said hi.']
    """
    if not isinstance(agent, Agent):
        raise TypeError(
            f"run_session() expects an Agent first, got {type(agent).__name__}; for a custom step use "
            "run(with_session(step, session_id), ...)"
        )
    if store is not None:
        interpreter = with_store(store)(interpreter)
    final = await run(with_session(agent, session_id, compaction=compaction), interpreter, input)
    return final.run
