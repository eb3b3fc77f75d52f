"""A small real MCP server (the official ``mcp`` package), for the MCP interpreter's tests.

Tools:

* ``add(a, b)``: the sum, as text;
* ``fail(reason)``: raises, so the server answers ``isError: true`` with the reason;
* ``refuse()``: raises ``MCPError``, so the server answers with a JSON-RPC error;
* ``picture()``: a text block and a 1x1 PNG image block (non-text content);
* ``lines()``: two text blocks, ``one`` and ``two``;
* ``double(x)``: an ``int`` result, which the server also sends as structured content
  (``{"result": ...}``);
* ``profile(name)``: a ``dict`` result, whose text block is its JSON;
* ``slow(seconds)``: sleeps, then says ``"slept"`` (for cancellation tests).

Run it over stdio (what ``interpreters.mcp_stdio`` starts)::

    python tests/support/mcp_server.py            # add --dotted for a tool named files.read

or over streamable HTTP on 127.0.0.1 (it binds a free port itself and prints
``http://127.0.0.1:<port>/mcp`` on its first stdout line once it accepts
connections)::

    python tests/support/mcp_server.py --http

In tests use ``McpHttpServer.running()``, which starts the HTTP server in a
subprocess, waits for the URL and kills the process on exit.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import final

import anyio
import attrs
from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.utilities.types import Image
from mcp.shared.exceptions import MCPError

__all__ = ["PNG", "SCRIPT", "McpHttpServer", "build", "main"]

SCRIPT = Path(__file__).resolve()
"""This file: the command to start the server is ``[sys.executable, str(SCRIPT)]``."""

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
"""A 1x1 PNG, what ``picture`` returns."""


def build(*, dotted: bool = False) -> MCPServer:
    """The server with its tools registered; ``dotted`` adds a tool named ``files.read``,
    a name MCP allows and OpenAI does not."""
    server = MCPServer("tower-llm-fx-test", log_level="WARNING")

    if dotted:

        @server.tool(name="files.read")
        def read(path: str) -> str:
            """Read a file."""
            return path

    @server.tool(structured_output=False)
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @server.tool()
    def fail(reason: str) -> str:
        """Always fail with the given reason."""
        raise ToolError(reason)

    @server.tool()
    def refuse() -> str:
        """Answer with an MCP protocol error (JSON-RPC error -32000), not a tool result."""
        raise MCPError(code=-32000, message="quota exhausted")

    @server.tool(structured_output=False)
    def picture() -> list[object]:
        """A caption and a tiny PNG."""
        return ["a red dot", Image(data=PNG, format="png")]

    @server.tool(structured_output=False)
    def lines() -> list[str]:
        """Two text blocks."""
        return ["one", "two"]

    @server.tool()
    def double(x: int) -> int:
        """Double an integer (structured output)."""
        return 2 * x

    @server.tool()
    def profile(name: str) -> dict[str, object]:
        """A user profile as a JSON object."""
        return {"name": name, "admin": False}

    @server.tool(structured_output=False)
    async def slow(seconds: float) -> str:
        """Sleep, then answer."""
        await anyio.sleep(seconds)
        return "slept"

    return server


async def _serve_http(server: MCPServer) -> None:
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    app = server.streamable_http_app()
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    uv = uvicorn.Server(config)
    # The socket already listens: a client connecting now waits in the backlog until serve() accepts.
    print(f"http://127.0.0.1:{port}/mcp", flush=True)
    await uv.serve(sockets=[sock])


def main(argv: list[str] | None = None) -> None:
    """Serve over stdio, or over streamable HTTP with ``--http``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--http", action="store_true", help="serve streamable HTTP on 127.0.0.1")
    parser.add_argument("--dotted", action="store_true", help="also offer a tool named files.read")
    args = parser.parse_args(argv)
    server = build(dotted=args.dotted)
    if args.http:
        anyio.run(_serve_http, server)
    else:
        server.run("stdio")


@final
@attrs.frozen(kw_only=True)
class McpHttpServer:
    """A running HTTP server process: ``url`` is its MCP endpoint."""

    url: str
    process: subprocess.Popen[str]

    @staticmethod
    @contextlib.contextmanager
    def running(timeout: float = 30.0) -> Iterator[McpHttpServer]:
        """Start the server in a subprocess, wait for its URL, and kill it on exit.

        Raises:
            RuntimeError: the process exited, or printed no URL within ``timeout`` seconds.
        """
        process = subprocess.Popen(
            [sys.executable, str(SCRIPT), "--http"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            url = _first_line(process, timeout)
            yield McpHttpServer(url=url, process=process)
        finally:
            process.kill()
            process.wait()
            if process.stdout is not None:
                process.stdout.close()


def _first_line(process: subprocess.Popen[str], timeout: float) -> str:
    import selectors

    assert process.stdout is not None
    with selectors.DefaultSelector() as sel:
        sel.register(process.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            raise RuntimeError(f"the MCP test server printed no URL within {timeout} s")
    line = process.stdout.readline().strip()
    if not line.startswith("http://"):
        raise RuntimeError(
            f"the MCP test server exited with {process.poll()} before printing its URL (got {line!r}); "
            f"run `python {SCRIPT} --http` to see why"
        )
    return line


if __name__ == "__main__":
    main()
