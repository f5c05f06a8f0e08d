"""``inkling chat --mcp FILE [--yes]``: the starter model calls a real stdio MCP server from the command line.

The call is forced with ``--tool-choice add`` (a grammar from the tool's schema);
what the test checks is the command's part: the call is asked for (or allowed by
``--yes``), runs once, its result is reported on stderr and sent back, stdout has no
call markup, and a bad file is one line and exit 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "tests" / "tools" / "mcp_server.py"


def _config(tmp_path: Path) -> tuple[Path, Path]:
    log = tmp_path / "calls.log"
    config = tmp_path / "claude_desktop_config.json"
    config.write_text(json.dumps({"mcpServers": {"test": {
        "command": sys.executable, "args": [str(SERVER)], "env": {"INKLING_TEST_TOOL_LOG": str(log)}}}}))
    return config, log


def _inkling(*args: str, home: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INKLING_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env,
                          timeout=180, cwd=ROOT, input=stdin)


def test_chat_with_mcp_and_yes_runs_the_call_and_sends_the_result_back(tmp_path: Path) -> None:
    config, log = _config(tmp_path)
    run = _inkling("chat", "What is 2 plus 3?", "--mcp", str(config), "--yes", "--tool-choice", "add",
                   "--temperature", "0", "--max-tokens", "30", home=tmp_path / "home")
    assert run.returncode == 0, run.stderr
    call = log.read_text().split()
    assert call[0] == "add" and len(call) == 3
    a, b = int(call[1]), int(call[2])
    assert "inkling: the model asks to run the tool add with" in run.stderr
    assert f"inkling: tool add returned: The sum of {a} and {b} is {a + b}." in run.stderr
    assert "no tool section" in run.stderr  # the starter model's template has none: said, not hidden
    assert "<tool_call>" not in run.stdout and "Traceback" not in run.stderr


def test_chat_with_mcp_asks_before_a_call_and_a_no_refuses_it(tmp_path: Path) -> None:
    config, log = _config(tmp_path)
    run = _inkling("chat", "What is 2 plus 3?", "--mcp", str(config), "--tool-choice", "add",
                   "--temperature", "0", "--max-tokens", "40", home=tmp_path / "home", stdin="n\n")
    assert run.returncode == 0, run.stderr
    assert "run it? [y/N]" in run.stderr and "refused; the model is told so" in run.stderr
    assert not log.exists()


def test_an_unreadable_mcp_file_is_one_line_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "mcp.json"
    bad.write_text('{"mcpServers": {"x": {"args": []}}}')
    run = _inkling("chat", "Hi", "--mcp", str(bad), home=tmp_path / "home")
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "neither a \"command\" nor a \"url\"" in lines[0] and "Traceback" not in run.stderr
