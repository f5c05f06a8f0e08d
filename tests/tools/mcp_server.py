"""A small stdio MCP server for the tests, written with the official ``mcp`` package (MCPServer, ex-FastMCP).

Tools: ``add`` (the sum of two integers), ``word_count`` (how many words), and four that go wrong the
ways a real server does: ``hang`` (never answers), ``crash`` (the process exits mid-call), ``garbage``
(answers with a line that is not JSON) and ``huge`` (answers with 10 MB of text). ``add`` appends each
call to the file named by ``INKLING_TEST_TOOL_LOG`` when set, so a test sees that a call ran (or did not).
"""

from __future__ import annotations

import os
import sys
import time

from mcp.server.mcpserver import MCPServer

server = MCPServer("inkling-test-tools")


def _log(line: str) -> None:
    path = os.environ.get("INKLING_TEST_TOOL_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


@server.tool()
def add(a: int, b: int) -> str:
    """Add two integers and return their sum."""
    _log(f"add {a} {b}")
    return f"The sum of {a} and {b} is {a + b}. <b>bold?</b>"


@server.tool()
def word_count(text: str) -> int:
    """Count the words in a text."""
    return len(text.split())


@server.tool()
def hang(seconds: int = 3600) -> str:
    """Never answer (sleeps for an hour)."""
    time.sleep(seconds)
    return "woke up"


@server.tool()
def crash() -> str:
    """Exit the whole server process in the middle of the call."""
    sys.stdout.flush()
    os._exit(3)


@server.tool()
def garbage() -> str:
    """Answer with a line that is not JSON, then nothing."""
    os.write(_wire(), b"this is {not json at all\n")
    time.sleep(3600)
    return "unreachable"


def _wire() -> int:
    """The pipe the SDK answers on (it moved stdout to a private descriptor and points fd 1 at stderr)."""
    import fcntl

    for name in sorted(os.listdir("/proc/self/fd"), key=int):
        fd = int(name)
        try:
            if fd > 2 and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:") \
                    and fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
                return fd
        except OSError:
            continue
    return 1


@server.tool()
def huge() -> str:
    """Answer with 10 MB of text."""
    return "x" * (10 * 1024 * 1024)


if __name__ == "__main__":
    server.run("stdio")
