"""MCP tools against a real MCP server (``tests/support/mcp_server.py``, written with the ``mcp``
package), started in a subprocess over stdio and over streamable HTTP on 127.0.0.1. Every async
test runs on trio and asyncio, and most on both transports: listing tools, calling them, every
kind of failure as data, a whole agent run with a scripted model, cancellation, and the session's
lifetime."""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

import tower_llm_fx as fx
from interpreters import (
    MCPSession,
    MCPSessionClosed,
    MCPToolError,
    agent_interpreter,
    by_type,
    mcp_http,
    mcp_stdio,
    run,
    sequence,
)
from interpreters.layers import timeout
from tests.support.mcp_server import PNG, SCRIPT, McpHttpServer

pytestmark = pytest.mark.anyio

STDIO = (sys.executable, [str(SCRIPT)])


@pytest.fixture(scope="module", params=["trio", "asyncio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Both backends, as in ``tests/conftest.py``, but per module: one session serves many tests."""
    backend: str = request.param
    return backend


@pytest.fixture(scope="module")
def http_server() -> Iterator[McpHttpServer]:
    """One HTTP MCP server process for the module."""
    with McpHttpServer.running() as server:
        yield server


@pytest.fixture(scope="module", params=["stdio", "http"])
async def server(request: pytest.FixtureRequest, http_server: McpHttpServer) -> AsyncIterator[MCPSession]:
    """An open session with the test server, over each transport, shared by the module's tests
    (starting a stdio server takes about a second); tests of the lifetime open their own."""
    opened = mcp_stdio(STDIO[0], args=STDIO[1]) if request.param == "stdio" else mcp_http(http_server.url)
    async with opened as session:
        yield session


def call(name: str, arguments: str | dict[str, Any] = "{}", id: str = "c1") -> fx.ToolCall:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return fx.ToolCall(id=id, name=name, arguments=text)


@fx.tool
def shout(text: str) -> str:
    """Shout the text."""
    return text.upper()


# --------------------------------------------------------------------------- listing


async def test_the_servers_tools_become_specs_with_their_schemas_verbatim(server: MCPSession) -> None:
    assert [s.name for s in server.specs] == [
        "add",
        "fail",
        "refuse",
        "picture",
        "lines",
        "double",
        "profile",
        "slow",
    ]
    add = server.specs[0]
    assert add.description == "Add two integers."
    assert add.schema() == {
        "type": "object",
        "properties": {"a": {"title": "A", "type": "integer"}, "b": {"title": "B", "type": "integer"}},
        "required": ["a", "b"],
        "title": "addArguments",
    }
    assert [t.spec for t in server.tools] == list(server.specs)
    assert not server.closed


async def test_the_repr_names_the_server_and_its_tools(
    server: MCPSession, http_server: McpHttpServer
) -> None:
    assert server.server in ("stdio:" + os.path.basename(sys.executable), http_server.url)
    assert repr(server).startswith(f"MCPSession({server.server}: add, fail, refuse, ")
    assert "mcp_server.py" not in repr(server)  # arguments may hold secrets: never shown


# --------------------------------------------------------------------------- calling


async def test_a_call_returns_the_tools_text(server: MCPSession) -> None:
    result = await server(call("add", {"a": 2, "b": 3}, id="x7"))
    assert result == fx.ToolResult.success(call_id="x7", name="add", content="5")


async def test_a_tools_function_calls_the_server(server: MCPSession) -> None:
    add = server.tools[0]
    assert await add(a=20, b=22) == "42"


async def test_calls_run_concurrently_on_one_session(server: MCPSession) -> None:
    results: dict[int, str] = {}

    async def one(i: int) -> None:
        results[i] = (await server(call("add", {"a": i, "b": 1}, id=f"c{i}"))).content

    async with anyio.create_task_group() as tg:
        for i in range(8):
            tg.start_soon(one, i)
    assert results == {i: str(i + 1) for i in range(8)}


# --------------------------------------------------------------------------- errors as data


async def test_an_mcp_tool_error_is_an_error_result(server: MCPSession) -> None:
    result = await server(call("fail", {"reason": "the disk is full"}))
    assert result.error == fx.ToolError(
        kind="tool_raised", message="MCPToolError: Error executing tool fail: the disk is full"
    )
    assert result.content == "error (tool_raised): MCPToolError: Error executing tool fail: the disk is full"


async def test_an_mcp_protocol_error_is_an_error_result(server: MCPSession) -> None:
    result = await server(call("refuse"))
    assert result.error == fx.ToolError(
        kind="tool_raised", message="MCPToolError: the MCP server answered with error -32000: quota exhausted"
    )


async def test_the_tools_function_raises_mcp_tool_error(server: MCPSession) -> None:
    fail = server.tools[1]
    with pytest.raises(MCPToolError, match="Error executing tool fail: nope"):
        await fail(reason="nope")


async def test_an_unknown_tool_is_an_error_result(server: MCPSession) -> None:
    result = await server(call("subtract", {"a": 1}))
    assert result.error is not None
    assert result.error.kind == "unknown_tool"
    assert result.error.message.startswith(
        "there is no tool named 'subtract'; available tools: add, double, fail"
    )


INVALID_ARGUMENTS = [
    ("{not json", "arguments are not valid JSON"),
    ("[1, 2]", "arguments must be a JSON object, got list"),
    ('{"a": "two", "b": 3}', "arguments do not match the schema: a: 'two' is not of type 'integer'"),
    ('{"a": 2}', "arguments do not match the schema: (root): 'b' is a required property"),
]


async def test_invalid_arguments_are_an_error_result(server: MCPSession) -> None:
    for arguments, message in INVALID_ARGUMENTS:  # one session for all: each start costs a second
        result = await server(call("add", arguments))
        assert result.error is not None, arguments
        assert result.error.kind == "invalid_arguments"
        assert result.error.message.startswith(message), (arguments, result.error.message)


# --------------------------------------------------------------------------- content that is not text


async def test_non_text_content_is_kept_as_the_json_of_the_blocks(server: MCPSession) -> None:
    result = await server(call("picture"))
    assert not result.is_error
    assert json.loads(result.content) == {
        "content": [
            {"type": "text", "text": "a red dot"},
            {"type": "image", "data": base64.b64encode(PNG).decode(), "mimeType": "image/png"},
        ]
    }


async def test_several_text_blocks_are_joined_by_newlines(server: MCPSession) -> None:
    assert (await server(call("lines"))).content == "one\ntwo"


async def test_structured_content_the_text_does_not_spell_out_is_kept(server: MCPSession) -> None:
    result = await server(call("double", {"x": 21}))
    assert json.loads(result.content) == {
        "content": [{"type": "text", "text": "42"}],
        "structuredContent": {"result": 42},
    }


async def test_structured_content_the_text_spells_out_is_just_the_text(server: MCPSession) -> None:
    result = await server(call("profile", {"name": "Ann"}))
    assert json.loads(result.content) == {"name": "Ann", "admin": False}
    assert "structuredContent" not in result.content


# --------------------------------------------------------------------------- agents


async def test_an_agent_run_with_mcp_and_local_tools(server: MCPSession) -> None:
    agent = fx.Agent(model="m", tools=(*server.tools, shout), parallel_tools=True)
    both = fx.assistant(
        None,
        fx.ToolCallRequest(id="c1", name="add", arguments='{"a": 2, "b": 3}'),
        fx.ToolCallRequest(id="c2", name="shout", arguments='{"text": "five"}'),
    )
    model = sequence([both, "2 + 3 = 5"])
    final = await run(agent, agent_interpreter(agent, model=model), "add 2 and 3, and shout five")
    assert [m.content for m in final.messages[2:]] == ["5", "FIVE", "2 + 3 = 5"]
    assert final.output == "2 + 3 = 5"


async def test_an_agent_with_only_mcp_tools_can_use_the_session_as_its_tool_interpreter(
    server: MCPSession,
) -> None:
    agent = fx.Agent(model="m", tools=server.tools)
    model = sequence(
        [fx.assistant(None, fx.ToolCallRequest(id="c1", name="fail", arguments='{"reason": "no"}')), "ok"]
    )
    final = await run(agent, by_type({fx.ModelCall: model, fx.ToolCall: server}), "try it")
    assert final.messages[2].content == "error (tool_raised): MCPToolError: Error executing tool fail: no"
    assert final.output == "ok"


async def test_the_model_is_offered_the_servers_specs(server: MCPSession) -> None:
    agent = fx.Agent(model="m", tools=(*server.tools, shout))
    effect = agent.step(fx.RunState.start("hi"))
    assert isinstance(effect, fx.ModelCall)
    assert effect.tools == (*server.specs, shout.spec)


# --------------------------------------------------------------------------- cancellation


async def test_cancelling_a_slow_call_passes_through_and_the_session_lives_on(server: MCPSession) -> None:
    result: fx.ToolResult | None = None
    with anyio.move_on_after(0.2) as scope:
        result = await server(call("slow", {"seconds": 60}))
    assert scope.cancelled_caught  # Cancelled reached the scope: not swallowed into a result
    assert result is None
    assert (await server(call("add", {"a": 1, "b": 1}))).content == "2"


async def test_a_timeout_layer_cancels_a_slow_mcp_tool(server: MCPSession) -> None:
    result = await timeout({fx.ToolCall: 0.2})(server)(call("slow", {"seconds": 60}))
    assert result.error is not None
    assert result.error.kind == "timeout"


# --------------------------------------------------------------------------- the session's lifetime


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_calls_after_the_block_raise_a_clear_error(transport: str, http_server: McpHttpServer) -> None:
    opened = mcp_stdio(STDIO[0], args=STDIO[1]) if transport == "stdio" else mcp_http(http_server.url)
    async with opened as session:
        pass
    assert session.closed
    assert repr(session) == f"MCPSession({session.server}: closed)"
    with pytest.raises(
        MCPSessionClosed, match=r"ToolCall \('add'\) reached the MCP session .* after its `async with`"
    ):
        await session(call("add", {"a": 1, "b": 2}))
    with pytest.raises(MCPSessionClosed, match="run the agent inside the block"):
        await session.tools[0](a=1, b=2)
    # Through local tools (agent_interpreter), the closed session is a result the model reads.
    agent = fx.Agent(model="m", tools=session.tools)
    result = await agent_interpreter(agent, model=sequence([]))(call("add", {"a": 1, "b": 2}))
    assert result.content.startswith(
        "error (tool_raised): MCPSessionClosed: tool 'add' was called on the MCP"
    )


async def test_the_stdio_server_process_ends_with_the_block(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = f"import os, runpy; open({str(pid_file)!r}, 'w').write(str(os.getpid())); runpy.run_path({str(SCRIPT)!r}, run_name='__main__')"
    async with mcp_stdio(sys.executable, args=["-c", script]) as session:
        assert session.specs[0].name == "add"
        pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


async def test_the_stdio_server_gets_env_and_cwd_but_not_our_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOWER_LLM_FX_PARENT_SECRET", "s3cret")
    code = textwrap.dedent(
        """
        import os
        from mcp.server import MCPServer

        server = MCPServer("env")

        @server.tool(structured_output=False)
        def where() -> str:
            "Report the environment."
            return repr((os.environ.get("GREETING"), os.environ.get("TOWER_LLM_FX_PARENT_SECRET"), os.getcwd()))

        server.run("stdio")
        """
    )
    async with mcp_stdio(
        sys.executable, args=["-c", code], env={"GREETING": "hello"}, cwd=tmp_path
    ) as session:
        result = await session(call("where"))
    assert result.content == repr(("hello", None, str(tmp_path)))


async def test_an_http_url_with_a_query_and_credentials_is_not_shown(http_server: McpHttpServer) -> None:
    url = http_server.url.replace("http://", "http://user:hunter2@") + "?token=s3cret"
    async with mcp_http(url, headers={"Authorization": "Bearer s3cret"}) as session:
        assert (await session(call("add", {"a": 1, "b": 2}))).content == "3"
        assert session.server == http_server.url
        assert "s3cret" not in repr(session) and "hunter2" not in repr(session)


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_the_blocks_own_exception_comes_out_unwrapped(
    transport: str, http_server: McpHttpServer
) -> None:
    opened = mcp_stdio(STDIO[0], args=STDIO[1]) if transport == "stdio" else mcp_http(http_server.url)
    with pytest.raises(KeyError) as info:
        async with opened as session:
            raise KeyError("mine")
    assert info.type is KeyError  # not an ExceptionGroup from the client's task groups
    assert session.closed


@pytest.mark.parametrize("transport", ["stdio", "http"])
async def test_cancelling_the_block_passes_through_and_closes_the_session(
    transport: str, http_server: McpHttpServer
) -> None:
    opened = mcp_stdio(STDIO[0], args=STDIO[1]) if transport == "stdio" else mcp_http(http_server.url)
    with anyio.CancelScope() as scope:
        async with opened as session:
            scope.cancel()
            await anyio.sleep(60)
    assert scope.cancelled_caught
    assert session.closed


# --------------------------------------------------------------------------- misconfiguration


async def test_a_command_that_is_not_an_mcp_server_is_a_connection_error() -> None:
    with pytest.raises(
        ConnectionError,
        match=r"could not open an MCP session with stdio:python.* \(MCP error -32000: Connection closed\); check that the command runs an MCP server",
    ):
        async with mcp_stdio(sys.executable, args=["-c", "print('not MCP')"]):
            pass  # pragma: no cover


async def test_a_command_that_does_not_exist_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        async with mcp_stdio(str(tmp_path / "no-such-server")):
            pass  # pragma: no cover


async def test_a_url_nothing_serves_is_a_connection_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago, and now nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/mcp?token=s3cret"
    with pytest.raises(
        ConnectionError, match=rf"could not open an MCP session with http://127.0.0.1:{port}/mcp \("
    ) as info:
        async with mcp_http(url):
            pass  # pragma: no cover
    assert "s3cret" not in str(info.value)


async def test_a_tool_name_a_model_cannot_take_fails_at_open() -> None:
    with pytest.raises(
        fx.ConfigurationError, match=r"offers a tool that cannot be given to a model: tool name 'files.read'"
    ):
        async with mcp_stdio(sys.executable, args=[str(SCRIPT), "--dotted"]):
            pass  # pragma: no cover


def test_arguments_are_checked_when_the_session_is_described() -> None:
    with pytest.raises(TypeError, match="args must be a sequence of strings"):
        mcp_stdio(sys.executable, args="server.py")
    with pytest.raises(fx.ConfigurationError, match="needs an http") as info:
        mcp_http("ftp://user:hunter2@example.com/mcp?token=s3cret")
    assert "hunter2" not in str(info.value) and "s3cret" not in str(info.value)


def test_interpreters_imports_without_mcp_and_says_how_to_install_it() -> None:
    code = textwrap.dedent(
        """
        import sys

        class NoMCP:
            def find_spec(self, name, path=None, target=None):
                if name == "mcp" or name.startswith("mcp."):
                    raise ModuleNotFoundError(f"No module named {name!r}", name=name)
                return None

        sys.meta_path.insert(0, NoMCP())
        import trio
        import interpreters

        async def main():
            async with interpreters.mcp_stdio("server"):
                pass

        try:
            trio.run(main)
        except ImportError as exc:
            print(exc)
        print("mcp" in sys.modules)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "install it with pip install 'tower-llm-fx[mcp]'" in out
    assert out.strip().endswith("False")
