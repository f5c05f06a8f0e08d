"""``inkling edit FILE "instruction"``: the Write pane's Ask on the command line.

The model proposes the edit (a long file section by section, with progress on stderr);
every change it proposes is taken, and the result is printed as a unified diff that
``patch`` applies — or, with ``--apply``, written to FILE after the original is kept
beside it as ``FILE.orig`` (``FILE.orig.1``, … when that exists).
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path

from app.core.ask import AskSession
from app.core.errors import InklingError
from app.core.events import LoadOptions
from app.core.paths import app_paths
from app.core.proposal import Edit
from app.core.sampling import SamplingSettings
from app.core.starter import starter_model_path


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("edit", help="propose an edit of a text file as a unified diff (or apply it)")
    p.add_argument("file", help="the text file to edit")
    p.add_argument("instruction", help='what to change, e.g. "use British spelling throughout"')
    p.add_argument("--model", help="path to a .gguf file (default: the starter model)")
    p.add_argument("--seed", type=int)
    p.add_argument("--temperature", type=float)
    p.add_argument("--ctx", type=int, default=4096, help="context length in tokens (a longer file goes by sections)")
    p.add_argument("--grammar", help="a GBNF grammar file the edited text must follow")
    p.add_argument("--no-draft", action="store_true", help="do not draft from the text (slower, same result)")
    p.add_argument("--apply", action="store_true", help="write the edit into FILE, keeping FILE.orig")


def unified_diff(old: str, new: str, name: str) -> str:
    """A unified diff ``patch -p1`` applies, "No newline at end of file" markers included."""
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 f"a/{name}", f"b/{name}")
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def backup_path(path: Path) -> Path:
    candidate, n = path.with_name(path.name + ".orig"), 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.orig.{n}")
    return candidate


def propose(engine: object, text: str, instruction: str, settings: SamplingSettings, context: int,
            draft: bool = True, progress: bool = True) -> str:
    """``text`` with every change the model proposes for ``instruction`` taken (Ctrl+C keeps what was proposed)."""
    from app.engine.pumped import PumpedEngine

    pumped = PumpedEngine(engine)
    ask = AskSession(None, 0, pumped)

    def tell(session: AskSession, what: str) -> None:
        done, total = session.progress
        if progress and what == "ask-progress" and total > 1:
            print(f"inkling: {done} of {total} sections proposed", file=sys.stderr, flush=True)

    ask.subscribe(tell)
    ask.ask(instruction, text, settings=settings, context_tokens=context, draft=draft)
    try:
        pumped.run_until(lambda: not ask.busy)
    except KeyboardInterrupt:
        ask.stop()
        pumped.run_until(lambda: not ask.busy, timeout=10)
    result = [text]

    def apply(edit: Edit) -> None:
        result[0] = edit.apply(result[0])

    for p in ask.proposals:
        if p.state == "failed":
            raise InklingError(f"The model could not propose the edit: {p.error}")
        for i in list(p.open_hunks):
            if p.reviewable:
                ask.accept(p, i, apply)
    return result[0]


def run(args: argparse.Namespace) -> int:
    from app.engine.client import EngineClient

    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
        grammar = Path(args.grammar).read_text(encoding="utf-8") if args.grammar else ""
    except (OSError, UnicodeDecodeError) as exc:
        print(f"inkling: cannot read {exc.filename if isinstance(exc, OSError) else path}: "
              f"{exc.strerror if isinstance(exc, OSError) else 'not UTF-8 text'}", file=sys.stderr)
        return 1
    changes = {k: v for k, v in {"seed": args.seed, "temperature": args.temperature}.items() if v is not None}
    client = EngineClient(log_path=app_paths().ensure().engine_log)
    try:
        settings = SamplingSettings(grammar=grammar).replace(**changes)
        client.load(args.model or starter_model_path(), LoadOptions(n_ctx=args.ctx))
        context = client.info.context if client.info is not None else args.ctx
        new = propose(client, text, args.instruction, settings, context, draft=not args.no_draft)
    except (InklingError, KeyboardInterrupt) as exc:
        print(f"inkling: {' '.join(str(exc).split()) or 'interrupted'}", file=sys.stderr)
        return 1
    finally:
        client.close()
    if not args.apply:
        sys.stdout.write(unified_diff(text, new, path.name))
        return 0
    if new == text:
        print(f"inkling: no changes proposed; {path} is as it was", file=sys.stderr)
        return 0
    backup = backup_path(path)
    try:
        backup.write_bytes(path.read_bytes())
        temporary = path.with_name(f".{path.name}.inkling-edit")
        temporary.write_text(new, encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        print(f"inkling: cannot write {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    print(f"inkling: wrote {path} (the original is kept as {backup})", file=sys.stderr)
    return 0
