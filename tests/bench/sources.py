"""Sources benchmark: indexing throughput, embedding speed, query latency at 10k and 100k passages, memory.

    flock /tmp/inkling-cpu.lock python tests/bench/sources.py [--big 100000] [--queries 60]

1. Keyword indexing (MB/min): the system's manual pages (gzip'd roff, turned to text
   by tests/engine/test_sources_quality.py's converter) written as .txt files, indexed
   by the real child-process job; the job's peak resident memory (ru_maxrss of the
   child) is quoted: reading is file by file, so it should stay near the size of the
   biggest file, not grow with the collection.
2. Embedding (passages/s): the starter model as the embedding model (prompt-last
   pooling, 800 characters per passage), on 48 manual-page passages.
3. Query latency p50/p95 at 10k and 100k passages: keyword (FTS5 BM25), meaning
   (a numpy dot product over unit vectors of 576 floats, the starter model's width;
   the question's own embedding not counted), and fused. Target: keyword p95 ≤ 100 ms
   at 100k. The passages are manual-page paragraphs; the vectors are random (latency
   does not depend on what they mean). Also: the matrix's memory and first-load time.
"""

from __future__ import annotations

import argparse
import gzip
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, report, row

sys.path.insert(0, str(ROOT / "tests" / "engine"))
import numpy as np
from test_sources_quality import roff_to_text

from app.core.sources.chunking import Chunk, chunk_text
from app.core.sources.indexer import INDEX_JOB, index_args
from app.core.sources.store import SourceStore
from app.core.starter import starter_model_path
from app.engine.embedding import LlamaEmbedder
from app.engine.jobs import start_job

MAN = Path("/usr/share/man/man1")


def man_texts(limit_bytes: int) -> list[tuple[str, str]]:
    out, total = [], 0
    for page in sorted(MAN.glob("*.1*.gz")):
        try:
            text = roff_to_text(gzip.decompress(page.read_bytes()).decode("utf-8", errors="replace"))
        except (OSError, EOFError):
            continue
        out.append((page.name.split(".")[0], text))
        total += len(text.encode())
        if total >= limit_bytes:
            break
    return out


def pct(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(p) - 1] if len(values) > 1 else values[0]


def bench_indexing(folder: Path, megabytes: float) -> list[dict[str, object]]:
    docs = folder / "docs"
    docs.mkdir()
    texts = man_texts(int(megabytes * 1e6))
    for name, text in texts:
        (docs / f"{name}.txt").write_text(text)
    size = sum(p.stat().st_size for p in docs.iterdir())
    store = SourceStore(folder / "idx.sqlite3")
    store.add_roots([str(docs)])
    t0 = time.perf_counter()
    result = start_job(INDEX_JOB, index_args(str(store.path))).result(600)
    seconds = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    mb_min = size / 1e6 / seconds * 60
    chunks = store.counts()["chunks"]
    print(f"keyword indexing: {len(texts)} files, {size / 1e6:.1f} MB, {chunks} passages in {seconds:.1f} s "
          f"= {mb_min:.0f} MB/min; job peak RSS {peak_mb:.0f} MB; read {result['read']}")
    return [row("keyword indexing", mb_min, "MB/min"), row("indexing job peak RSS", peak_mb, "MB"),
            row("passages per MB", chunks / (size / 1e6), "")]


def bench_embedding() -> list[dict[str, object]]:
    texts = [c.text for _, t in man_texts(200_000) for c in chunk_text(t)][:48]
    emb = LlamaEmbedder(str(starter_model_path()), max_chars=800, pooling="prompt-last")
    emb.embed(texts[:2])
    t0 = time.perf_counter()
    for i in range(0, len(texts), 16):
        emb.embed(texts[i:i + 16])
    rate = len(texts) / (time.perf_counter() - t0)
    emb.close()
    print(f"embedding: {rate:.2f} passages/s (starter model, prompt-last, ≤800 chars each)")
    return [row("embedding (starter model)", rate, "passages/s")]


def build_store(path: Path, n: int, paragraphs: list[str], dim: int) -> SourceStore:
    store = SourceStore(path)
    rng = np.random.default_rng(1)
    per_file = 20
    t0 = time.perf_counter()
    for f in range(n // per_file):
        chunks = [Chunk(paragraphs[(f * per_file + i) % len(paragraphs)], 0, 0, 1) for i in range(per_file)]
        store.put_file(f"/bench/file{f}.txt", 1, 1, "", "txt", chunks)
    ids = [r[0] for r in store.db.execute("SELECT id FROM chunks ORDER BY id")]
    for i in range(0, len(ids), 5000):
        store.put_vectors(ids[i:i + 5000], rng.standard_normal((len(ids[i:i + 5000]), dim), dtype=np.float32))
    print(f"  built {n} passages in {time.perf_counter() - t0:.1f} s "
          f"({path.stat().st_size / 1e6:.0f} MB on disk)")
    return store


def bench_queries(folder: Path, n: int, queries: int, paragraphs: list[str]) -> list[dict[str, object]]:
    dim = 576
    store = build_store(folder / f"q{n}.sqlite3", n, paragraphs, dim)
    rng = random.Random(2)
    words = [w for p in paragraphs[:2000] for w in p.split() if w.isalpha() and len(w) > 4]
    questions = [" ".join(rng.sample(words, 5)) for _ in range(queries)]
    t0 = time.perf_counter()
    store.vector_search(np.ones(dim, dtype=np.float32), 5)
    load_s = time.perf_counter() - t0
    qvec = np.random.default_rng(3).standard_normal(dim).astype(np.float32)
    lat: dict[str, list[float]] = {"keyword": [], "meaning": [], "fused": []}

    class Fixed:  # the question's vector, precomputed: the model's time is line 2, not this one
        name = "fixed"

        def embed(self, texts: list[str]) -> np.ndarray:
            return qvec[None, :]

    for q in questions:
        for mode, fn in (("keyword", lambda q=q: store.search(q, top=5, mode="keyword")),
                         ("meaning", lambda q=q: store.search(q, Fixed(), top=5, mode="meaning")),
                         ("fused", lambda q=q: store.search(q, Fixed(), top=5, mode="hybrid"))):
            t = time.perf_counter()
            fn()
            lat[mode].append((time.perf_counter() - t) * 1000)
    rows = []
    for mode, values in lat.items():
        p50, p95 = pct(values, 50), pct(values, 95)
        target = "≤ 100 ms" if mode == "keyword" and n >= 100_000 else ""
        ok = (p95 <= 100) if target else None
        print(f"  {n:>7} passages {mode:8} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms" + (f"  {'PASS' if ok else 'MISS'}"
                                                                                   if target else ""))
        rows.append(row(f"{mode} query p50 @{n // 1000}k", p50, "ms"))
        rows.append(row(f"{mode} query p95 @{n // 1000}k", p95, "ms", target, ok))
    print(f"  vector matrix {n} × {dim} float32 = {n * dim * 4 / 1e6:.0f} MB, first load {load_s:.2f} s")
    rows.append(row(f"vector matrix load @{n // 1000}k", load_s, "s"))
    store.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=float, default=20.0, help="manual-page text to index (line 1)")
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--no-embed", action="store_true")
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="inkling-bench-sources-") as tmp:
        folder = Path(tmp)
        rows += bench_indexing(folder, args.megabytes)
        if not args.no_embed:
            rows += bench_embedding()
        paragraphs = [c.text for _, t in man_texts(8_000_000) for c in chunk_text(t)]
        print(f"query latency ({len(paragraphs)} distinct manual-page passages, repeated):")
        for n in (10_000, args.big):
            rows += bench_queries(folder, n, args.queries, paragraphs)
        os.sync()
    report("sources", rows)


if __name__ == "__main__":
    main()
