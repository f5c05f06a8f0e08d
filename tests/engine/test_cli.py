"""The headless commands, as a script calls them: ``python -m app chat|complete``, exit codes and output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _inkling(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INKLING_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env,
                          timeout=120, cwd=ROOT)


def test_complete_prints_the_text_and_its_continuation_and_exits_0(tmp_path: Path) -> None:
    run = _inkling("complete", "The capital of France is", "--temperature", "0", "--max-tokens", "4", "--stats",
                   home=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("The capital of France is") and "Paris" in run.stdout
    assert run.stdout.endswith("\n")
    assert "[length] 4 tokens" in run.stderr and "tok/s" in run.stderr
    assert "Traceback" not in run.stderr


def test_chat_prints_only_the_reply_and_exits_0(tmp_path: Path) -> None:
    run = _inkling("chat", "What is the capital of France? One word.", "--temperature", "0", "--max-tokens", "8",
                   "--system", "You are terse.", "--seed", "3", "--stats", home=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "Paris" in run.stdout and "capital of France?" not in run.stdout  # the reply, not the prompt
    assert "<|im_end|>" not in run.stdout and "seed 3" in run.stderr


def test_a_missing_model_is_one_line_on_stderr_and_exit_1(tmp_path: Path) -> None:
    run = _inkling("chat", "Hello", "--model", str(tmp_path / "nowhere.gguf"), home=tmp_path)
    assert run.returncode == 1
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inkling: ") and "nowhere.gguf" in lines[0], run.stderr
    assert "Traceback" not in run.stderr


def test_a_file_that_is_not_a_model_is_one_line_on_stderr_and_exit_1(tmp_path: Path) -> None:
    bad = tmp_path / "notes.gguf"
    bad.write_text("these are my notes, not a model")
    run = _inkling("complete", "Hello", "--model", str(bad), home=tmp_path)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inkling: ") and "Traceback" not in run.stderr, run.stderr


def test_a_bad_argument_is_a_usage_error_exit_2(tmp_path: Path) -> None:
    run = _inkling("chat", "Hello", "--temperature", "hot", home=tmp_path)
    assert run.returncode == 2 and "usage:" in run.stderr and "Traceback" not in run.stderr
    out_of_range = _inkling("chat", "Hello", "--temperature", "9", home=tmp_path)
    assert out_of_range.returncode != 0 and "Traceback" not in out_of_range.stderr
    assert "temperature" in out_of_range.stderr


def test_chat_prints_the_answer_only_and_with_thinking_the_thinking_marked(tmp_path: Path) -> None:
    from thinking_model import ANSWER, CHAT_THINK_THEN_ANSWER

    grammar = tmp_path / "think.gbnf"
    grammar.write_text(CHAT_THINK_THEN_ANSWER)
    common = ("chat", "When is the lamp lit?", "--temperature", "0", "--max-tokens", "80", "--grammar-file",
              str(grammar))
    run = _inkling(*common, home=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == ANSWER + "\n"
    run = _inkling(*common, "--thinking", home=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("[thinking]\n") and run.stdout.endswith(f"\n[/thinking]\n\n{ANSWER}\n")
    thought = run.stdout.removeprefix("[thinking]\n").split("\n[/thinking]")[0]
    assert 10 <= len(thought) <= 40 and "<think>" not in run.stdout
