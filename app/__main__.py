"""``python -m app`` / ``inkling``: the GUI, or headless ``chat`` and ``complete`` for scripts.

    inkling [FILE.gguf ...]                   open the window (and load the model files given)
    inkling chat --model PATH "prompt"        stream a chat reply to stdout
    inkling complete --model PATH "text"      stream a continuation to stdout
    inkling chat --server URL [--api-key K] [--model ID] "prompt"
                                              the same through a model server (OpenAI-compatible API)
    inkling selftest [--model PATH] [--info]  check that this computer runs this build

Without ``--model`` the built-in starter model is used (with ``--server``: the
server's first model). Any fault ends with a one-line reason and exit code 1.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from typing import Any

from app.core.errors import InklingError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inkling", description="Offline chat and writing assistant.")
    sub = parser.add_subparsers(dest="command")
    for name, help_text in (("chat", "stream a chat reply"), ("complete", "stream a raw continuation")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("text", help="the prompt (chat) or the text to continue (complete)")
        p.add_argument("--model", help="path to a .gguf file (default: the starter model); with --server, a model id")
        p.add_argument("--server", help="an OpenAI-compatible server, e.g. http://localhost:8000/v1")
        p.add_argument("--api-key", default="", help="the server's API key (with --server)")
        p.add_argument("--system", default="", help="system prompt (chat only)")
        p.add_argument("--temperature", type=float)
        p.add_argument("--top-p", type=float)
        p.add_argument("--top-k", type=int)
        p.add_argument("--min-p", type=float)
        p.add_argument("--seed", type=int)
        p.add_argument("--max-tokens", type=int)
        p.add_argument("--ctx", type=int, default=4096, help="context length in tokens")
        p.add_argument("--stats", action="store_true", help="print timings to stderr at the end")
        if name == "chat":
            p.add_argument("--sources", help="a source collection: answer from its passages, citing them")
    p = sub.add_parser("selftest", help="load the starter model in this process, generate a few tokens, report")
    p.add_argument("--model", help="path to a .gguf file (default: the starter model)")
    p.add_argument("--info", action="store_true", help="print versions, CPU backend and folders as JSON; load no model")
    p.add_argument("--tokens", type=int, default=16, help="how many tokens to generate (default 16)")
    from app.sources_cli import add_parser as add_sources_parser

    add_sources_parser(sub)
    return parser


COMMANDS = ("chat", "complete", "selftest", "sources")


def _gui_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inkling", description="Offline chat and writing assistant. Commands: " + ", ".join(COMMANDS) +
        " (inkling COMMAND -h for each).")
    parser.add_argument("files", nargs="*", help="GGUF model files to open (a running Inkling opens them)")
    return parser


def run_headless(args: argparse.Namespace) -> int:
    from app.core.events import LoadOptions
    from app.core.paths import app_paths
    from app.core.sampling import SamplingSettings
    from app.core.starter import starter_model_path
    from app.engine.client import EngineClient

    changes = {k: v for k, v in {
        "temperature": args.temperature, "top_p": args.top_p, "top_k": args.top_k,
        "min_p": args.min_p, "seed": args.seed, "max_tokens": args.max_tokens,
    }.items() if v is not None}
    paths = app_paths().ensure()
    client: Any = None
    try:
        settings = SamplingSettings().replace(**changes)
        if args.server:
            from app.core.connections import Connection
            from app.engine.remote import RemoteEngine

            client = RemoteEngine(Connection.new("", args.server, args.api_key))
            client.load_async(args.model or "").result()
        else:
            client = EngineClient(log_path=paths.engine_log)
            client.load(args.model or starter_model_path(), LoadOptions(n_ctx=args.ctx))
    except (InklingError, KeyboardInterrupt) as exc:
        print(f"inkling: {_one_line(exc) or 'interrupted'}", file=sys.stderr)
        if client is not None:
            client.close()
        return 1
    try:
        if args.command == "chat":
            messages = ([{"role": "system", "content": args.system}] if args.system else [])
            hits = []
            if getattr(args, "sources", None):
                from app.sources_cli import sources_system_message

                hits, system = sources_system_message(args.sources, args.text, args.ctx)
                messages = [{"role": "system", "content": (args.system + "\n\n" if args.system else "") + system}]
            messages.append({"role": "user", "content": args.text})
            stream = client.chat(messages, settings)
        else:
            sys.stdout.write(args.text)
            stream = client.complete(args.text, settings)
        try:
            for event in stream:
                sys.stdout.write(event.text)
                sys.stdout.flush()
        except KeyboardInterrupt:
            stream.cancel()
            stream.wait()
        sys.stdout.write("\n")
        if args.command == "chat" and getattr(args, "sources", None):
            from app.sources_cli import print_sources

            print_sources(stream.text, hits)
        fin = stream.finished
        if fin is not None and fin.not_applied:
            print(f"inkling: not applied on this server: {', '.join(fin.not_applied)}", file=sys.stderr)
        if fin is not None and fin.note:
            print(f"inkling: {fin.note}", file=sys.stderr)
        if args.stats and fin is not None:
            t = fin.timings
            print(f"[{fin.reason}] {t.generated_tokens} tokens, {t.tokens_per_second:.1f} tok/s, "
                  f"first token {t.first_token_ms:.0f} ms, prompt {t.prompt_evaluated}/{t.prompt_tokens} "
                  f"evaluated, seed {fin.seed}", file=sys.stderr)
        return 0
    except InklingError as exc:
        sys.stdout.write("\n")
        print(f"inkling: {_one_line(exc)}", file=sys.stderr)
        return 1
    except Exception as exc:  # never a traceback on the command line
        sys.stdout.write("\n")
        print(f"inkling: unexpected failure: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return 1
    finally:
        client.close()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def main(argv: list[str] | None = None) -> int:
    multiprocessing.freeze_support()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in COMMANDS:
        args = _parser().parse_args(argv)
        if args.command == "selftest":
            from app import selftest

            return selftest.print_info() if args.info else selftest.run(args.model, tokens=args.tokens)
        if args.command == "sources":
            from app.sources_cli import run as run_sources

            return run_sources(args)
        return run_headless(args)
    files, _qt_args = _gui_parser().parse_known_args(argv)
    from app.main import main as gui_main

    return gui_main(files.files)


if __name__ == "__main__":
    sys.exit(main())
