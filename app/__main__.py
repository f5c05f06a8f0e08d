"""``python -m app`` / ``inkling``: the GUI, or headless ``chat`` and ``complete`` for scripts.

    inkling [FILE.gguf ...]                   open the window (and load the model files given)
    inkling chat --model PATH "prompt"        stream a chat reply to stdout (the answer; --thinking: the
                                              reasoning too, between [thinking] and [/thinking])
    inkling complete --model PATH "text"      stream a continuation to stdout
    inkling chat --server URL [--api-key K] [--model ID] "prompt"
                                              the same through a model server (OpenAI-compatible API)
    inkling selftest [--model PATH] [--info]  check that this computer runs this build
    inkling edit [--model M] [--seed N] FILE "instruction" [--apply]
                                              propose an edit as a unified diff (or write it, keeping FILE.orig)
    inkling chat|complete --lora ADAPTER.gguf ...   with a LoRA adapter on the model
    inkling train --base MODEL --out ADAPTER.gguf [--epochs N] FILE...
                                              fine-tune a LoRA on text files (needs inkling[train])
    inkling perplexity --model MODEL [--lora ADAPTER.gguf] FILE|-
                                              the perplexity of a text as the engine measures it

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
        p.add_argument("--grammar-file", help="a GBNF grammar file the output must follow")
        if name == "chat":
            p.add_argument("--thinking", action="store_true",
                           help="also print a thinking model's reasoning, between [thinking] and [/thinking]")
            p.add_argument("--thinking-budget", type=int,
                           help="close the thinking after this many tokens and make the model answer")
        p.add_argument("--lora", help="a LoRA adapter (.gguf) to put on the model")
        p.add_argument("--lora-scale", type=float, default=1.0, help="the adapter's strength (default 1)")
        if name == "chat":  # tools over MCP
            p.add_argument("--mcp", metavar="FILE", help="offer the tools of this mcpServers JSON file (Claude "
                                                         "Desktop's shape); each call is asked for on the terminal")
            p.add_argument("--yes", action="store_true", help="with --mcp: run every tool call without asking")
            p.add_argument("--tool-choice", default="auto", metavar="auto|required|NAME",
                           help="with --mcp: whether the first reply must call a tool (required, or that tool)")
        if name == "chat":
            p.add_argument("--sources", help="a source collection: answer from its passages, citing them")
    p = sub.add_parser("selftest", help="load the starter model in this process, generate a few tokens, report")
    p.add_argument("--model", help="path to a .gguf file (default: the starter model)")
    p.add_argument("--info", action="store_true", help="print versions, CPU backend and folders as JSON; load no model")
    p.add_argument("--tokens", type=int, default=16, help="how many tokens to generate (default 16)")
    from app.edit_cli import add_parser as add_edit_parser

    add_edit_parser(sub)
    from app import cli_train

    cli_train.add_commands(sub)
    from app.sources_cli import add_parser as add_sources_parser

    add_sources_parser(sub)
    return parser


COMMANDS = ("chat", "complete", "selftest", "edit", "train", "perplexity", "sources")


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
    if args.grammar_file:
        try:
            with open(args.grammar_file, encoding="utf-8") as f:
                changes["grammar"] = f.read()
        except OSError as exc:
            print(f"inkling: the grammar file could not be read: {exc}", file=sys.stderr)
            return 1
    if getattr(args, "thinking_budget", None) is not None:
        changes["thinking_budget"] = args.thinking_budget
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
            if args.lora:
                client.set_adapter(args.lora, args.lora_scale)
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
            if args.mcp:
                from app.tool_chat_cli import chat_with_tools

                return chat_with_tools(client, messages, settings, args.mcp, yes=args.yes, choice=args.tool_choice)
            stream = client.chat(messages, settings)
        else:
            sys.stdout.write(args.text)
            stream = client.complete(args.text, settings)
        try:
            if args.command == "chat":
                _print_reply(stream, thinking=args.thinking)
            else:
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


def _print_reply(stream: Any, *, thinking: bool) -> None:
    """Print a chat reply as it streams: the answer only, or (``thinking``) its reasoning first, marked."""
    from app.core.thinking import ThinkingSplitter

    splitter = ThinkingSplitter()
    inside = False  # the [thinking] mark is open

    def put(pieces: list[tuple[str, str]]) -> None:
        nonlocal inside
        for kind, text in pieces:
            if kind == "thinking":
                if not thinking:
                    continue
                if not inside:
                    sys.stdout.write("[thinking]\n")
                    inside = True
            elif inside:
                sys.stdout.write("\n[/thinking]\n\n")
                inside = False
            sys.stdout.write(text)
        sys.stdout.flush()

    try:
        for event in stream:
            put(splitter.feed(event.text))  # type: ignore[arg-type]
    finally:
        put(splitter.finish())  # type: ignore[arg-type]
        if inside:
            sys.stdout.write("\n[/thinking]\n")


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
        if args.command == "edit":
            from app import edit_cli

            return edit_cli.run(args)
        if args.command in ("train", "perplexity"):
            from app import cli_train

            return cli_train.run_train(args) if args.command == "train" else cli_train.run_perplexity(args)
        if args.command == "sources":
            from app.sources_cli import run as run_sources

            return run_sources(args)
        return run_headless(args)
    files, _qt_args = _gui_parser().parse_known_args(argv)
    from app.main import main as gui_main

    return gui_main(files.files)


if __name__ == "__main__":
    sys.exit(main())
