"""Malformed GGUF metadata, made by rewriting the starter model's header: a typed error naming the key.

Each kind of bad value is refused by the header check — before llama.cpp sees it,
so the engine never crashes on it — and the library lists the file as broken
while it lists the good one as usual.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import gguf_tools as g
import pytest

from app.core.errors import ModelFileError, ModelMetadataError
from app.core.events import LoadOptions
from app.core.gguf import read_header
from app.core.paths import app_paths
from app.core.sampling import SamplingSettings
from app.engine.client import EngineClient
from app.models.library import ModelLibrary


def _set(key: str, vtype: int, value: object) -> Callable[[g.GGUF], None]:
    def edit(model: g.GGUF) -> None:
        assert key in model.metadata, key  # replace a real key in place
        model.metadata[key] = (vtype, value)
    return edit


def _add(key: str, vtype: int, value: object) -> Callable[[g.GGUF], None]:
    def edit(model: g.GGUF) -> None:
        assert key not in model.metadata, key  # a key the starter model does not have
        model.metadata[key] = (vtype, value)
    return edit


def _drop_last_token(model: g.GGUF) -> None:
    for key in ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"):
        if key in model.metadata:
            itype, items = model.metadata[key][1]
            model.metadata[key] = (g.ARRAY, (itype, items[:-1]))


def _duplicate_a_token(model: g.GGUF) -> None:
    itype, tokens = model.metadata["tokenizer.ggml.tokens"][1]
    tokens = list(tokens)
    tokens[300] = tokens[301]
    model.metadata["tokenizer.ggml.tokens"] = (g.ARRAY, (itype, tokens))


CASES: dict[str, tuple[Callable[[g.GGUF], None], str]] = {
    "context length as text": (_set("llama.context_length", g.STRING, "abc"), "llama.context_length"),
    "context length NaN": (_set("llama.context_length", g.FLOAT32, math.nan), "llama.context_length"),
    "context length +inf": (_set("llama.context_length", g.FLOAT64, math.inf), "llama.context_length"),
    "context length -inf": (_set("llama.context_length", g.FLOAT32, -math.inf), "llama.context_length"),
    "context length as a list": (_set("llama.context_length", g.ARRAY, (g.UINT32, [8192, 8192])),
                                 "llama.context_length"),
    "embedding length NaN": (_set("llama.embedding_length", g.FLOAT32, math.nan), "llama.embedding_length"),
    "kv head count as text": (_set("llama.attention.head_count_kv", g.STRING, "x"), "llama.attention.head_count_kv"),
    "block count 0": (_set("llama.block_count", g.UINT32, 0), "llama.block_count"),
    "head count not dividing the embedding": (_set("llama.attention.head_count", g.UINT32, 7),
                                              "llama.attention.head_count"),
    "token list shorter than the vocabulary": (_drop_last_token, "tokenizer.ggml.tokens"),
    "duplicate token strings": (_duplicate_a_token, "tokenizer.ggml.tokens"),
    # values that size a loop or an allocation: bounded before anything iterates over them
    "block count 2^31-1": (_set("llama.block_count", g.UINT32, 2**31 - 1), "llama.block_count"),
    "block count 2^32-1": (_set("llama.block_count", g.UINT32, 2**32 - 1), "llama.block_count"),
    "block count 513, one more than llama.cpp allows": (_set("llama.block_count", g.UINT32, 513),
                                                         "llama.block_count"),
    "head count 2^32-1": (_set("llama.attention.head_count", g.UINT32, 2**32 - 1), "llama.attention.head_count"),
    "kv head counts for 4,096 layers": (_set("llama.attention.head_count_kv", g.ARRAY, (g.UINT32, [3] * 4096)),
                                        "llama.attention.head_count_kv"),
    # more experts used than there are: llama.cpp GGML_ASSERTs (the process dies), given one number or one a layer
    "2 experts used of none": (_add("llama.expert_used_count", g.UINT32, 2), "llama.expert_used_count"),
    "2 experts used in each layer of none": (_add("llama.expert_used_count", g.ARRAY, (g.UINT32, [2] * 30)),
                                            "llama.expert_used_count"),
    "feed-forward length 2^64-1": (_set("llama.feed_forward_length", g.UINT64, 2**64 - 1),
                                   "llama.feed_forward_length"),
}
HUGE_BLOCK_COUNTS = ["block count 2^31-1", "block count 2^32-1"]


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory: pytest.TempPathFactory, starter_path: Path) -> Iterator[dict[str, Path]]:
    folder = tmp_path_factory.mktemp("bad-metadata")
    files = {}
    for i, (kind, (edit, _key)) in enumerate(CASES.items()):
        files[kind] = g.patched_copy(starter_path, folder / f"bad-{i}.gguf", edit)
    yield files
    for path in files.values():
        path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def client() -> Iterator[EngineClient]:
    client = EngineClient(log_path=app_paths().ensure().engine_log)
    client.start().result(timeout=60)
    yield client
    client.close()


def test_the_rewritten_header_is_otherwise_the_starter_model(tmp_path: Path, starter_path: Path) -> None:
    same = g.patched_copy(starter_path, tmp_path / "same.gguf", lambda _m: None)
    assert same.read_bytes() == starter_path.read_bytes()  # the helper itself changes nothing else


@pytest.mark.parametrize("kind", list(CASES))
def test_bad_metadata_is_a_typed_error_naming_the_file_and_the_key(kind: str, bad_files: dict[str, Path]) -> None:
    path, key = bad_files[kind], CASES[kind][1]
    with pytest.raises(ModelMetadataError) as caught:
        read_header(path)
    assert caught.value.key == key
    assert key in str(caught.value) and str(path) in str(caught.value)
    assert not isinstance(caught.value, ValueError)


def test_experts_used_may_be_given_one_a_layer(starter_path: Path, tmp_path: Path) -> None:
    # llama.cpp reads llama.expert_used_count as one number or as one per layer (and checks the largest)
    def moe(model: g.GGUF) -> None:
        _add("llama.expert_count", g.UINT32, 4)(model)
        _add("llama.expert_used_count", g.ARRAY, (g.UINT32, [1, 2] * 15))(model)

    header = read_header(g.patched_copy(starter_path, tmp_path / "moe.gguf", moe))
    assert header.metadata["llama.expert_used_count"] == [1, 2] * 15


@pytest.mark.parametrize("kind", list(CASES))
def test_the_engine_refuses_bad_metadata_without_crashing(kind: str, bad_files: dict[str, Path],
                                                          client: EngineClient) -> None:
    path, key = bad_files[kind], CASES[kind][1]
    pid = client.pid
    with pytest.raises(ModelMetadataError) as caught:
        client.load(path, LoadOptions(n_ctx=512))
    assert key in str(caught.value)
    assert client.crashes == 0 and pid is not None and client.pid == pid  # refused up front: no crash
    assert client.info is None


@pytest.mark.parametrize("kind", list(CASES))
def test_the_library_lists_the_bad_file_as_broken_and_the_good_one_as_usual(kind: str, bad_files: dict[str, Path],
                                                                            starter_path: Path,
                                                                            tmp_path: Path) -> None:
    (tmp_path / "bad.gguf").symlink_to(bad_files[kind])
    (tmp_path / "good.gguf").symlink_to(starter_path)
    entries = {Path(e.path).name: e for e in ModelLibrary(tmp_path).entries()}
    assert CASES[kind][1] in entries["bad.gguf"].error
    assert entries["good.gguf"].error == "" and entries["good.gguf"].architecture == "llama"


def _cpu_s(pid: int) -> float | None:
    """CPU seconds another process has used so far (user and system), or None where /proc can't say."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.parametrize("kind", HUGE_BLOCK_COUNTS)
def test_a_huge_block_count_is_refused_within_a_second_by_the_reader_the_library_and_the_engine(
        kind: str, bad_files: dict[str, Path], starter_path: Path, client: EngineClient, tmp_path: Path) -> None:
    # "within a second" is a claim about work, so it is checked on CPU time: on a loaded machine
    # wall time also counts the minutes other programs had the cores. The failure it guards
    # against (over 60 s, or a MemoryError) still shows in the generous wall bound.
    path = bad_files[kind]
    started, cpu = time.perf_counter(), time.process_time()
    with pytest.raises(ModelMetadataError) as caught:
        read_header(path)
    reader_s, reader_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert caught.value.key == "llama.block_count" and "at most 512" in str(caught.value)

    (tmp_path / "bad.gguf").symlink_to(path)
    (tmp_path / "good.gguf").symlink_to(starter_path)
    (tmp_path / "also-good.gguf").symlink_to(starter_path)
    started, cpu = time.perf_counter(), time.process_time()
    entries = {Path(e.path).name: e for e in ModelLibrary(tmp_path).entries()}
    library_s, library_cpu = time.perf_counter() - started, time.process_time() - cpu
    assert "llama.block_count" in entries["bad.gguf"].error
    assert entries["good.gguf"].error == "" and entries["also-good.gguf"].error == ""

    pid = client.pid
    started, cpu = time.perf_counter(), _cpu_s(pid)
    with pytest.raises(ModelMetadataError) as refused:
        client.load(path, LoadOptions(n_ctx=512))
    engine_s = time.perf_counter() - started
    after = _cpu_s(pid)
    engine_cpu = after - cpu if after is not None and cpu is not None else None
    assert refused.value.key == "llama.block_count" and client.crashes == 0 and client.pid == pid
    print(f"{kind}: reader {reader_s * 1000:.0f} ms ({reader_cpu * 1000:.0f} ms CPU), library scan "
          f"{library_s * 1000:.0f} ms ({library_cpu * 1000:.0f} ms CPU), engine load {engine_s * 1000:.0f} ms"
          + (f" ({engine_cpu * 1000:.0f} ms CPU in the engine)" if engine_cpu is not None else ""))
    assert reader_cpu < 1.0 and library_cpu < 1.0, (reader_cpu, library_cpu)
    assert engine_cpu is None or engine_cpu < 1.0, engine_cpu
    assert reader_s < 10.0 and library_s < 10.0 and engine_s < 10.0, (reader_s, library_s, engine_s)


def test_a_chat_template_that_does_not_parse_falls_back_to_chatml_and_says_so(client: EngineClient,
                                                                              starter_path: Path,
                                                                              tmp_path: Path) -> None:
    path = g.patched_copy(starter_path, tmp_path / "template.gguf", _set("tokenizer.chat_template", g.STRING,
                                                                         "{% for %}"))
    info = client.load(path, LoadOptions(n_ctx=512))
    assert not info.has_chat_template
    assert "could not be read" in info.chat_template_note and "ChatML" in info.chat_template_note
    fin = client.chat([{"role": "user", "content": "Hi"}], SamplingSettings(temperature=0, max_tokens=3)).wait()
    assert fin.timings.prompt_tokens > 0
    client.unload()


def _drop(key: str) -> Callable[[g.GGUF], None]:
    def edit(model: g.GGUF) -> None:
        del model.metadata[key]
    return edit


def test_a_refused_load_quotes_llama_cpps_reason_for_this_file_and_keeps_the_model_before(
        client: EngineClient, starter_path: Path, tmp_path: Path) -> None:
    client.load(starter_path, LoadOptions(n_ctx=512))
    odd_arch = g.patched_copy(starter_path, tmp_path / "arch.gguf", _set("general.architecture", g.STRING, "zebra"))
    no_blocks = g.patched_copy(starter_path, tmp_path / "blocks.gguf", _drop("llama.block_count"))
    pid = client.pid
    with pytest.raises(ModelFileError) as first:
        client.load(odd_arch, LoadOptions(n_ctx=512))
    assert "zebra" in first.value.reason  # llama.cpp's own words, not "Failed to load model from file"
    # the model loaded before stays the model: the next request loads it again and is answered
    assert client.info is not None and client.wanted is not None and client.wanted[0] == str(starter_path)
    fin = client.chat([{"role": "user", "content": "Hi"}], SamplingSettings(max_tokens=2)).wait()
    assert fin.timings.generated_tokens == 2
    with pytest.raises(ModelFileError) as second:
        client.load(no_blocks, LoadOptions(n_ctx=512))
    assert "block_count" in second.value.reason and "zebra" not in second.value.reason  # this load's log only
    assert client.pid == pid and client.crashes == 0
