"""Ask with the real starter model, outside the window: a document four times the context, section by section,
and ``inkling edit``'s diff and ``--apply``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from gbnf import literal

from app.core.ask import AskSession
from app.core.sampling import SamplingSettings
from app.engine.client import EngineClient
from app.engine.pumped import PumpedEngine
from tests.engine.conftest import make_engine

ROOT = Path(__file__).resolve().parents[2]
SMALL_CONTEXT = 512


@pytest.fixture(scope="module")
def small(starter_path: Path) -> Iterator[EngineClient]:
    client = make_engine(starter_path, n_ctx=SMALL_CONTEXT)
    yield client
    client.close()


def long_document(paragraphs: int) -> str:
    return "\n\n".join(f"Paragraph {i}. The harbour town woke slowly, boat {i} knocked against the pier, and the "
                       f"baker opened her shutters to the smell of bread number {i * 7}." for i in range(paragraphs))


def test_a_document_four_times_the_context_is_proposed_section_by_section_and_stop_keeps_the_finished(
        small: EngineClient) -> None:
    document = long_document(60)
    assert len(small.tokenize(document)) >= 4 * SMALL_CONTEXT
    pumped = PumpedEngine(small)
    ask = AskSession(None, 0, pumped)
    progress: list[tuple[int, int]] = []
    writing_at_once: list[int] = []

    def on_change(session: AskSession, what: str) -> None:
        if what == "ask-progress":
            progress.append(session.progress)
        if what == "proposal-started":
            writing_at_once.append(sum(p.state == "writing" for p in session.proposals))
        if what == "proposal-text" and len(session.proposals) == 4:
            session.stop()  # while the fourth section is being written

    ask.subscribe(on_change)
    settings = SamplingSettings(temperature=0.0, seed=1, grammar=literal("Short."))
    ask.ask("Shorten this to two words.", document, settings=settings, context_tokens=small.info.context)
    assert pumped.run_until(lambda: not ask.busy, timeout=240)
    total = progress[0][1]
    assert total >= 4, progress
    assert progress == [(i, total) for i in range(5)]  # one by one, and nothing after the stop
    assert writing_at_once == [1, 1, 1, 1]
    assert [p.state for p in ask.proposals] == ["ready", "ready", "ready", "stopped"]
    for p in ask.proposals[:3]:  # each finished section is its own proposal, still on offer
        assert p.label.startswith("Section ") and p.label.endswith(f"of {total}")
        assert document[p.start:p.end] == p.base and p.open_hunks
        assert p.text == "Short."
    assert "Stopped after 4 of" in ask.turns[-1].text
    edited = document
    first = ask.proposals[0]
    end = first.end
    for i in list(first.open_hunks):
        edited = ask.accept(first, i, lambda _e: None).apply(edited)
    assert edited == "Short." + document[end:]


def _inkling(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "INKLING_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, env=env,
                          timeout=180, cwd=ROOT)


ORIGINAL = "The color of the sea was gray.\n\nA second paragraph stays.\n\nThe last line is old."  # no final line break
EDITED = "The colour of the sea was grey.\n\nA second paragraph stays.\n\nThe last line is new."


def test_inkling_edit_prints_a_diff_that_patch_applies_and_apply_keeps_a_backup(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    article = work / "article.txt"
    article.write_text(ORIGINAL, encoding="utf-8")
    grammar = tmp_path / "edit.gbnf"
    grammar.write_text(literal(EDITED), encoding="utf-8")
    run = _inkling("edit", "--seed", "1", "--grammar", str(grammar), str(article), "Use British spelling.",
                   home=tmp_path / "home")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("--- a/article.txt\n+++ b/article.txt\n"), run.stdout
    assert article.read_text(encoding="utf-8") == ORIGINAL  # printing a diff changes nothing
    patched = tmp_path / "patched"
    patched.mkdir()
    (patched / "article.txt").write_text(ORIGINAL, encoding="utf-8")
    applied = subprocess.run(["patch", "-p1", "-d", str(patched)], input=run.stdout, capture_output=True, text=True)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    proposed = EDITED  # (the diff marks the last line as having no line break, and patch honours it)
    assert (patched / "article.txt").read_text(encoding="utf-8") == proposed

    run = _inkling("edit", "--seed", "1", "--grammar", str(grammar), str(article), "Use British spelling.",
                   "--apply", home=tmp_path / "home")
    assert run.returncode == 0, run.stderr
    assert article.read_text(encoding="utf-8") == proposed
    assert (work / "article.txt.orig").read_text(encoding="utf-8") == ORIGINAL
    assert "article.txt.orig" in run.stderr
