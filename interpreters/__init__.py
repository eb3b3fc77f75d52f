"""interpreters: the effectful shell of tower_llm_fx.

Interpreters perform the effects that pure steps describe; layers
(`interpreters.layers`) transform interpreters; stores
(`interpreters.stores`) keep sessions and traces; ``run`` and ``stream``
drive any ``Program`` (an agent, a group, a session) with an interpreter. Written on anyio, so it runs under trio (the default) and
asyncio; ``dbos_run`` runs a program as a DBOS durable workflow (the
``[dbos]`` extra, asyncio only).

    >>> import trio, tower_llm_fx as fx
    >>> from interpreters import agent_interpreter, run, sequence
    >>> agent = fx.Agent(model="demo")
    >>> trio.run(run, agent, agent_interpreter(agent, model=sequence(["Hi!"])), "Hello").output
    'Hi!'
"""

from ._dbos import DbosProgram as DbosProgram
from ._dbos import dbos_program as dbos_program
from ._dbos import dbos_recover as dbos_recover
from ._dbos import dbos_run as dbos_run
from ._dispatch import by_type as by_type
from ._durable import Reconciler as Reconciler
from ._durable import resume as resume
from ._event_sink import EventSink as EventSink
from ._event_sink import discard_attempt as discard_attempt
from ._event_sink import event_sink as event_sink
from ._event_sink import observe_deltas as observe_deltas
from ._group import group_interpreter as group_interpreter
from ._mcp import MCPSession as MCPSession
from ._mcp import MCPSessionClosed as MCPSessionClosed
from ._mcp import MCPToolError as MCPToolError
from ._mcp import mcp_http as mcp_http
from ._mcp import mcp_stdio as mcp_stdio
from ._openai import openai as openai
from ._perform import perform as perform
from ._perform import perform_parallel as perform_parallel
from ._publish import publish as _publish
from ._replay import replay as replay
from ._replay import replay_run as replay_run
from ._run import agent_interpreter as agent_interpreter
from ._run import run as run
from ._scripted import Reply as Reply
from ._scripted import fixed as fixed
from ._scripted import function as function
from ._scripted import sequence as sequence
from ._sessions import run_session as run_session
from ._stream import RunStream as RunStream
from ._stream import stream as stream
from ._stream import tap as tap
from ._tools import local_tools as local_tools
from ._tools import serialise_output as serialise_output
from ._types import Interpreter as Interpreter
from ._types import Layer as Layer
from ._types import identity as identity
from ._types import stack as stack

__all__ = [
    "DbosProgram",
    "EventSink",
    "Interpreter",
    "Layer",
    "MCPSession",
    "MCPSessionClosed",
    "MCPToolError",
    "Reconciler",
    "Reply",
    "RunStream",
    "agent_interpreter",
    "by_type",
    "dbos_program",
    "dbos_recover",
    "dbos_run",
    "discard_attempt",
    "event_sink",
    "fixed",
    "function",
    "group_interpreter",
    "identity",
    "local_tools",
    "mcp_http",
    "mcp_stdio",
    "observe_deltas",
    "openai",
    "perform",
    "perform_parallel",
    "replay",
    "replay_run",
    "resume",
    "run",
    "run_session",
    "sequence",
    "serialise_output",
    "stack",
    "stream",
    "tap",
]

_publish(__name__, globals(), __all__)
