"""interpreters: the effectful shell of tower_llm_fx.

Interpreters perform the effects that pure steps describe; layers transform
interpreters; ``run`` drives an agent with an interpreter. Written on anyio,
so it runs under trio (the default) and asyncio.

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import agent_interpreter, run, sequence
    >>> agent = fx.Agent(model="demo")
    >>> trio.run(run, agent, agent_interpreter(agent, model=sequence(["Hi!"])), "Hello").output
    'Hi!'
"""

from ._dispatch import by_type as by_type
from ._run import agent_interpreter as agent_interpreter
from ._run import drive as drive
from ._run import run as run
from ._run import run_user as run_user
from ._scripted import Reply as Reply
from ._scripted import fixed as fixed
from ._scripted import function as function
from ._scripted import sequence as sequence
from ._tools import local_tools as local_tools
from ._tools import serialise_output as serialise_output
from ._types import Interpreter as Interpreter
from ._types import Layer as Layer
from ._types import identity as identity
from ._types import stack as stack

__all__ = [
    "Interpreter",
    "Layer",
    "Reply",
    "agent_interpreter",
    "by_type",
    "drive",
    "fixed",
    "function",
    "identity",
    "local_tools",
    "run",
    "run_user",
    "sequence",
    "serialise_output",
    "stack",
]
