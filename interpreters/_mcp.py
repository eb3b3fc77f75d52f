"""MCP tools: `mcp_stdio` and `mcp_http` open a session with an MCP server.

Theory of operation: opening a session lists the server's tools once. Each
becomes a `Tool` whose spec is the server's (name, description, input schema
kept as the server sent it) and whose function calls the tool on the server.
The session performs ``ToolCall`` for those tools exactly as ``local_tools``
performs local ones (it *is* ``local_tools`` over them), so unknown tools,
malformed JSON and arguments that miss the schema are the same error results
whichever tools an agent has. An MCP tool error (``isError``) and an MCP
protocol error become ``"tool_raised"`` results the model reads; cancellation
passes through. The session lives exactly as long as its ``async with``.

The ``mcp`` package is an optional extra: this module imports it only when a
session is opened, so ``import interpreters`` works without it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, final
from urllib.parse import urlsplit

import attrs

from tower_llm_fx import ConfigurationError, Effect, InterpreterError, Tool, ToolCall, ToolSpec

from ._tools import local_tools
from ._types import Interpreter

if TYPE_CHECKING:
    from mcp import Client
    from mcp.types import CallToolResult

__all__ = ["MCPSession", "MCPSessionClosed", "MCPToolError", "mcp_http", "mcp_stdio"]

R = TypeVar("R")

_INSTALL = "pip install 'tower-llm-fx[mcp]'"


@final
class MCPToolError(Exception):
    """An MCP server answered a tool call with an error.

    Raised by the functions of `MCPSession.tools` (an ``isError`` result, or an
    MCP protocol error); the interpreters turn it into a ``"tool_raised"``
    result whose message is the server's text, so the model reads it.
    """


@final
class MCPSessionClosed(InterpreterError):
    """A tool call reached an MCP session after its ``async with`` block had ended.

    Perform every call inside the block: ``async with mcp_stdio(...) as server:
    await run(agent, interpreter, ...)``.
    """


def _mcp_client() -> type[Client]:
    try:
        from mcp import Client
    except ImportError as exc:
        raise ImportError(
            f"MCP tools need the optional 'mcp' package ({exc}); install it with {_INSTALL}"
        ) from exc
    return Client


@final
@attrs.define(eq=False)
class MCPSession:
    """An open session with one MCP server: its tools, and an interpreter for them.

    Made by `mcp_stdio` and `mcp_http`, never directly. ``specs`` are the
    server's tools as ``ToolSpec``; ``tools`` are the same as ``Tool`` values
    for ``Agent(tools=...)``, whose functions call the server. Awaiting the
    session with a ``ToolCall`` performs it (``by_type({ToolCall: server})``).
    After the ``async with`` block, a call raises `MCPSessionClosed`.
    """

    _server: str
    _client: Client = attrs.field(repr=False)
    _tools: tuple[Tool, ...] = attrs.field(factory=tuple, repr=False)
    _local: Interpreter | None = attrs.field(default=None, repr=False)
    _closed: bool = attrs.field(default=False, repr=False)

    @property
    def server(self) -> str:
        """The server, as shown in reprs and errors (no arguments, query or credentials)."""
        return self._server

    @property
    def specs(self) -> tuple[ToolSpec, ...]:
        """The server's tools as the model is offered them, in the server's order."""
        return tuple(t.spec for t in self._tools)

    @property
    def tools(self) -> tuple[Tool, ...]:
        """The server's tools as ``Tool`` values: put them in ``Agent(tools=...)``."""
        return self._tools

    @property
    def closed(self) -> bool:
        """Whether the session's ``async with`` block has ended."""
        return self._closed

    async def __call__(self, effect: Effect[R], /) -> R:
        if self._closed:
            name = f" ({effect.name!r})" if isinstance(effect, ToolCall) else ""
            raise MCPSessionClosed(
                f"{type(effect).__name__}{name} reached the MCP session with {self._server} after its "
                "`async with` block ended; perform tool calls inside the block"
            )
        assert self._local is not None  # set when the session opens
        return await self._local(effect)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ", ".join(t.name for t in self._tools) or "no tools"
        return f"MCPSession({self._server}: {state})"

    async def _call(self, name: str, arguments: dict[str, Any]) -> str:
        from mcp import MCPError

        if self._closed:
            raise MCPSessionClosed(
                f"tool {name!r} was called on the MCP session with {self._server} after its `async with` "
                "block ended; run the agent inside the block"
            )
        try:
            result = await self._client.call_tool(name, arguments)
        except MCPError as exc:
            raise MCPToolError(f"the MCP server answered with error {exc.code}: {exc.message}") from None
        content = _content(result)
        if result.is_error:
            raise MCPToolError(content or "the MCP server reported an error without a message")
        return content


def _content(result: CallToolResult) -> str:
    """The tool-message content for an MCP ``CallToolResult``; nothing is dropped.

    Text blocks only: their texts, joined by newlines. Anything else (an
    image, audio, a resource or resource link, or structured content that the
    text does not already spell out as JSON) makes the content the JSON of
    ``{"content": [blocks as MCP sends them], "structuredContent": ...}``.
    """
    from mcp.types import TextContent

    blocks = result.content
    texts = [b.text for b in blocks if isinstance(b, TextContent)]
    structured = result.structured_content
    if len(texts) == len(blocks):
        text = "\n".join(texts)
        if structured is None or _spells_out(text, structured):
            return text
    whole: dict[str, Any] = {
        "content": [b.model_dump(mode="json", by_alias=True, exclude_none=True) for b in blocks]
    }
    if structured is not None:
        whole["structuredContent"] = structured
    return json.dumps(whole, ensure_ascii=False, separators=(",", ":"))


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for e in exc.exceptions for leaf in _leaves(e)]
    return [exc]


def _describe(exc: BaseException) -> str:
    from mcp import MCPError

    if isinstance(exc, MCPError):
        return f"MCP error {exc.code}: {exc.message}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _spells_out(text: str, structured: object) -> bool:
    try:
        return bool(json.loads(text) == structured)
    except ValueError:
        return False


async def _list_tools(session: MCPSession) -> tuple[Tool, ...]:
    tools: list[Tool] = []
    cursor: str | None = None
    while True:
        page = await session._client.list_tools(cursor=cursor)
        for t in page.tools:
            tools.append(_tool(session, t.name, t.description or "", t.input_schema))
        cursor = page.next_cursor
        if cursor is None:
            return tuple(tools)


def _tool(session: MCPSession, name: str, description: str, schema: dict[str, Any]) -> Tool:
    try:
        spec = ToolSpec(name=name, description=description, parameters=schema)
    except ConfigurationError as exc:
        raise ConfigurationError(
            f"the MCP server {session.server} offers a tool that cannot be given to a model: {exc}"
        ) from None

    async def call(**arguments: Any) -> str:
        return await session._call(name, arguments)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = description
    return Tool(spec=spec, fn=call)


@contextlib.asynccontextmanager
async def _open(client: Client, server: str, hint: str, secret: str = "") -> AsyncIterator[MCPSession]:
    try:
        await client.__aenter__()
    except OSError:
        raise  # the command could not be started (FileNotFoundError, PermissionError, ...)
    except Exception as exc:
        what = "; ".join(_describe(e) for e in _leaves(exc))
        if secret:
            what = what.replace(secret, server)
        raise ConnectionError(f"could not open an MCP session with {server} ({what}); {hint}") from exc
    session = MCPSession(server, client)
    try:
        session._tools = await _list_tools(session)
        try:
            session._local = local_tools(session._tools)
        except ValueError as exc:
            raise ConfigurationError(
                f"the MCP server {server} offers a tool that cannot be used: {exc}"
            ) from None
        yield session
    except Exception:
        # The block's own exception goes on as it is: handing it to the client would
        # wrap it in an ExceptionGroup (its task groups only need to stop).
        session._closed = True
        await client.__aexit__(None, None, None)
        raise
    except BaseException as exc:  # cancellation, KeyboardInterrupt: the task groups must see it
        session._closed = True
        await client.__aexit__(type(exc), exc, exc.__traceback__)
        raise
    session._closed = True
    await client.__aexit__(None, None, None)


def mcp_stdio(
    command: str,
    *,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> contextlib.AbstractAsyncContextManager[MCPSession]:
    """Start an MCP server as a subprocess and talk to it over stdin/stdout.

    ``async with`` it to get an `MCPSession`; the process stops when the
    block ends. The server does not inherit our environment: it gets
    ``HOME``, ``LOGNAME``, ``PATH``, ``SHELL``, ``TERM`` and ``USER`` (the
    ``mcp`` package's choice) plus ``env``. Its stderr is ours.

    Raises:
        ImportError: the ``mcp`` extra is not installed.
        OSError: the command cannot be started.
        ConnectionError: the process is not an MCP server (it exited, or wrote something else).
        ConfigurationError: a server tool's name or schema cannot be offered to a model.

    >>> import sys, trio, tower_llm_fx as fx
    >>> code = '''
    ... from mcp.server import MCPServer
    ... server = MCPServer("demo")
    ... @server.tool(structured_output=False)
    ... def add(a: int, b: int) -> int:
    ...     "Add two integers."
    ...     return a + b
    ... server.run("stdio")
    ... '''
    >>> async def main():
    ...     async with mcp_stdio(sys.executable, args=["-c", code]) as server:
    ...         result = await server(fx.ToolCall(id="c1", name="add", arguments='{"a": 2, "b": 3}'))
    ...         return [spec.name for spec in server.specs], result.content
    >>> trio.run(main)
    (['add'], '5')
    """
    if isinstance(args, str):
        raise TypeError(f"args must be a sequence of strings such as [{args!r}], not one string")
    argv = list(args)
    name = os.path.basename(command)
    server = f"stdio:{name}"

    @contextlib.asynccontextmanager
    async def opened() -> AsyncIterator[MCPSession]:
        client_type = _mcp_client()
        from mcp import StdioServerParameters

        params = StdioServerParameters(
            command=command,
            args=argv,
            env=dict(env) if env is not None else None,
            cwd=None if cwd is None else os.fspath(cwd),
        )
        hint = "check that the command runs an MCP server on its stdin and stdout (its stderr goes to ours)"
        async with _open(client_type(params), server, hint) as session:
            yield session

    return opened()


def mcp_http(
    url: str, *, headers: Mapping[str, str] | None = None
) -> contextlib.AbstractAsyncContextManager[MCPSession]:
    """Connect to an MCP server over streamable HTTP at ``url`` (e.g. ``http://127.0.0.1:8000/mcp``).

    ``async with`` it to get an `MCPSession`; the HTTP session is ended when
    the block ends. ``headers`` (e.g. ``Authorization``) go with every
    request and never into a repr or an error message.

    Raises:
        ImportError: the ``mcp`` extra is not installed.
        ConnectionError: nothing serves MCP at ``url``.
        ConfigurationError: a server tool's name or schema cannot be offered to a model.

    >>> mcp_http("127.0.0.1:8000/mcp")
    Traceback (most recent call last):
    ...
    tower_llm_fx.ConfigurationError: mcp_http() needs an http(s) URL such as 'http://127.0.0.1:8000/mcp', got '127.0.0.1:8000/mcp'
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = url.split("?", 1)[0].rsplit("@", 1)[-1]  # never a query or credentials
        raise ConfigurationError(
            f"mcp_http() needs an http(s) URL such as 'http://127.0.0.1:8000/mcp', got {shown!r}"
        )
    port = f":{parts.port}" if parts.port else ""
    server = f"{parts.scheme}://{parts.hostname}{port}{parts.path}"

    hint = "check that the server is running and serves MCP's streamable HTTP at that URL"

    @contextlib.asynccontextmanager
    async def opened() -> AsyncIterator[MCPSession]:
        client_type = _mcp_client()
        if headers is None:
            async with _open(client_type(url), server, hint, url) as session:
                yield session
            return
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        timeout = httpx2.Timeout(30.0, read=300.0)  # the mcp package's defaults
        async with httpx2.AsyncClient(headers=dict(headers), timeout=timeout) as http:
            transport = streamable_http_client(url, http_client=http)
            async with _open(client_type(transport), server, hint, url) as session:
                yield session

    return opened()
