"""``inkling sources ...`` and the retrieval step of ``inkling chat --sources``.

    inkling sources add NAME PATH... [--max-mb N] [--embed-model GGUF|starter] [--embed-server URL]
    inkling sources search NAME "query" [--top K] [--mode hybrid|keyword|meaning]
    inkling sources list | bad NAME | remove NAME

``add`` indexes in a child process (the same job the window runs, on the same job runner), printing
progress to stderr and the counts at the end; files it could not read are listed
with their reasons. The embedding model chosen for a collection is remembered in
it, so ``search`` and ``chat --sources`` embed the question with the same model.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from typing import Any

from app.core.errors import InklingError
from app.core.jobs import JobProgress
from app.core.paths import app_paths
from app.core.sources.collections import Collections
from app.core.sources.indexer import INDEX_JOB, IndexSettings, index_args, report_of, unavailable_text
from app.core.sources.store import Hit, SourceStore


def add_parser(sub: Any) -> None:
    p = sub.add_parser("sources", help="collections of your own files that chat can read and cite")
    s = p.add_subparsers(dest="sources_command", required=True)
    a = s.add_parser("add", help="add folders or files to a collection (created if new) and index it")
    a.add_argument("name")
    a.add_argument("paths", nargs="*", help="folders or files (none: just bring the index up to date)")
    a.add_argument("--max-mb", type=float, default=64.0, help="skip files bigger than this (default 64 MB)")
    a.add_argument("--embed-model", help="a GGUF embedding model for meaning search ('starter': the starter model)")
    a.add_argument("--embed-server", help="an OpenAI-compatible server whose /v1/embeddings to use")
    a.add_argument("--embed-server-model", default="", help="the model id to ask that server for")
    q = s.add_parser("search", help="the passages that best answer a query")
    q.add_argument("name")
    q.add_argument("query")
    q.add_argument("--top", type=int, default=5)
    q.add_argument("--mode", choices=("hybrid", "keyword", "meaning"), default="hybrid")
    s.add_parser("list", help="the collections and their counts")
    b = s.add_parser("bad", help="the files a collection could not read, with the reasons")
    b.add_argument("name")
    r = s.add_parser("remove", help="forget a collection (your files are not touched)")
    r.add_argument("name")


def collections() -> Collections:
    return Collections(app_paths().ensure().sources)


def embedder_spec(store: SourceStore) -> dict[str, Any] | None:
    text = store.get_meta("embedder_spec")
    return json.loads(text) if text else None


def query_embedder(store: SourceStore) -> Any:
    """The collection's embedding model, loaded in this process (the CLI); None if it has none."""
    from app.engine.embedding import make_embedder

    return make_embedder(embedder_spec(store))


def retrieve(name: str, query: str, top: int = 5, mode: str = "hybrid") -> list[Hit]:
    store = collections().open(name)
    embedder = query_embedder(store) if mode != "keyword" else None
    try:
        return store.search(query, embedder, top=top, mode=mode if embedder or mode == "keyword" else "keyword")
    finally:
        if embedder is not None:
            embedder.close()
        store.close()


def _fmt_eta(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _print_progress(p: dict[str, Any]) -> None:
    if p["phase"] == "embedding":
        line = (f"embedding {p['vectors_done']}/{p['vectors_total']} passages, {_fmt_eta(p['eta_seconds'])} left")
    else:
        line = (f"{p['phase']} {p['files_done']}/{p['files_total']} files, {p['bytes_done'] / 1e6:.1f}/"
                f"{p['bytes_total'] / 1e6:.1f} MB, {_fmt_eta(p['eta_seconds'])} left")
    print("\r" + line.ljust(78), end="", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except InklingError as exc:
        print(f"inkling: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninkling: interrupted; what was indexed is kept", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    cols = collections()
    cmd = args.sources_command
    if cmd == "list":
        for name in cols.names():
            store = cols.open(name)
            c = store.counts()
            print(f"{name}: {c['files']} files, {c['bad']} skipped, {c['chunks']} passages, {c['vectors']} embedded")
            store.close()
        return 0
    if cmd == "remove":
        cols.open(args.name).close()
        cols.remove(args.name)
        return 0
    if cmd == "bad":
        store = cols.open(args.name)
        for path, reason in store.bad_files():
            print(f"{path}: {reason}")
        return 0
    if cmd == "search":
        hits = retrieve(args.name, args.query, args.top, args.mode)
        for rank, hit in enumerate(hits, start=1):
            start = " ".join(hit.text.split())[:100]
            print(f"{rank}. {hit.score:.4f}  {hit.location}  {start}")
        return 0
    return _add(cols, args)


def _add(cols: Collections, args: argparse.Namespace) -> int:
    from app.engine.jobs import start_job

    store = cols.open(args.name, create=True)
    missing = [p for p in args.paths if not os.path.lexists(p)]
    if missing:
        print(f"inkling: not found: {', '.join(missing)}", file=sys.stderr)
        return 1
    store.add_roots(os.path.abspath(p) for p in args.paths)
    # the job writes the spec into the collection once the model has embedded a text (not before: a model
    # that fails to load must leave the collection's vectors and its spec as they were)
    spec = embedder_spec(store)
    if args.embed_model:
        model = args.embed_model
        if model == "starter":
            from app.core.starter import starter_model_path

            model = str(starter_model_path())
        spec = {"kind": "llama", "model": os.path.abspath(model)}
    elif args.embed_server:
        spec = {"kind": "remote", "url": args.embed_server, "model": args.embed_server_model}
    db = str(store.path)
    store.close()
    def on_event(event: object) -> None:  # on the job's reader thread, in order
        if isinstance(event, JobProgress):
            report = report_of(event.message)
            if report:
                _print_progress(report)

    job = start_job(INDEX_JOB, index_args(db, IndexSettings(max_bytes=int(args.max_mb * 1e6)), spec), on_event,
                    name=f"Indexing {args.name!r}")
    try:
        report = job.result()
    except KeyboardInterrupt:
        job.cancel()
        with contextlib.suppress(Exception):
            job.result(30)
        raise
    print(file=sys.stderr)
    store = cols.open(args.name)
    counts = store.counts()
    bad = store.bad_files()
    store.close()
    print(f"{args.name}: {counts['files']} files, {counts['chunks']} passages, {counts['vectors']} embedded, "
          f"{counts['bad']} skipped ({report['read']} read now, {report['unchanged']} unchanged, "
          f"{report['deleted']} gone)")
    if missing_roots := unavailable_text(report):
        print(missing_roots)
    for path, reason in bad:
        print(f"skipped {path}: {reason}")
    return 0


def sources_system_message(name: str, question: str, n_ctx: int, top: int = 8) -> tuple[list[Hit], str]:
    """The passages of collection ``name`` that answer ``question`` and fit half the context, and their message."""
    from app.core.sources.retrieval import fit_hits, sources_message

    hits = fit_hits(retrieve(name, question, top=top), budget_tokens=n_ctx // 2)
    return hits, sources_message(hits)


def print_sources(answer: str, hits: list[Hit]) -> None:
    """Under the answer: the numbered sources it was given, the cited ones marked."""
    from app.core.sources.retrieval import cited_numbers

    cited = set(cited_numbers(answer))
    if not hits:
        print("Sources: none found in the collection for this question.")
        return
    print("Sources:")
    for n, hit in enumerate(hits, start=1):
        mark = "*" if n in cited else " "
        print(f"{mark}[{n}] {hit.location}  {' '.join(hit.text.split())[:80]}")
