"""Sources, the pure parts: passages cut on paragraphs and sentences with overlap, rank fusion, every reader,
and an index kept up to date (changed files read again, deleted ones gone), with no window and no model."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from app.core.errors import UnreadableSource
from app.core.sources.chunking import chunk_text
from app.core.sources.fusion import reciprocal_rank_fusion
from app.core.sources.indexer import IndexSettings, index_collection
from app.core.sources.readers import read_source
from app.core.sources.retrieval import citation_parts, cited_numbers, fit_hits, sources_message
from app.core.sources.store import SourceStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import itertools

from source_files import write_docx, write_encrypted_pdf, write_epub, write_odt, write_pdf


class Recorder:
    """A job context that records progress and can run a hook on the first report."""

    def __init__(self, on_first: Any = None) -> None:
        self.reports: list[dict[str, Any]] = []
        self.on_first = on_first

    def progress(self, info: dict[str, Any]) -> None:
        self.reports.append(dict(info))
        if self.on_first is not None and info["phase"] == "reading":
            hook, self.on_first = self.on_first, None
            hook()

    def should_stop(self) -> bool:
        return False


def _sentences(n: int, word: str = "word") -> str:
    return " ".join(f"Sentence {i} says {word} {i} plainly." for i in range(n))


def test_passages_keep_paragraphs_whole_and_cut_long_ones_between_sentences() -> None:
    paras = ["Short first paragraph.", _sentences(40, "alpha"), "Closing words here."]
    text = "\n\n".join(paras)
    chunks = chunk_text(text, size=300, overlap=80)
    assert len(chunks) > 3
    for c in chunks:
        assert len(c.text) <= 300 + 80
        assert c.text == text[c.start:c.end].strip()
        assert c.text[-1] in ".", c.text  # every passage ends at a sentence's end
        assert c.line == text.count("\n", 0, c.start) + 1
    assert chunks[0].text.startswith("Short first paragraph.")
    # overlap: each later passage starts with the previous one's last sentence
    for prev, nxt in itertools.pairwise(chunks):
        assert nxt.start < prev.end, (prev.text[-60:], nxt.text[:60])
        assert prev.text.endswith(text[nxt.start:prev.end].strip())
    assert chunks[-1].text.endswith("Closing words here.")
    assert chunk_text("   \n\n  ") == []


def test_a_sentence_longer_than_a_passage_is_cut_at_spaces() -> None:
    text = "x" + " lorem" * 500
    chunks = chunk_text(text, size=200, overlap=0)
    assert all(len(c.text) <= 200 for c in chunks)
    assert "".join(c.text.replace(" ", "") for c in chunks) == text.replace(" ", "")


def test_rank_fusion_puts_what_both_rankings_agree_on_first() -> None:
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "d", "a"]])
    assert [k for k, _ in fused][:2] == ["a", "c"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 63)
    assert {k for k, _ in fused} == {"a", "b", "c", "d"}
    weighted = reciprocal_rank_fusion([["a"], ["b"]], weights=[1.0, 2.0])
    assert weighted[0][0] == "b"


def test_every_format_is_read_as_paragraphs(tmp_path: Path) -> None:
    (tmp_path / "n.txt").write_text("Plain text zebra.\n\nSecond.")
    (tmp_path / "n.md").write_text("# Title\n\nMarkdown *giraffe* text.")
    (tmp_path / "n.html").write_text("<html><head><style>p{}</style><script>var hidden=1</script></head>"
                                     "<body><h1>Head</h1><p>HTML &amp; okapi text</p></body></html>")
    write_docx(tmp_path / "n.docx", ["Word paragraph about a narwhal.", "Another."])
    write_odt(tmp_path / "n.odt", ["ODT paragraph about a tapir."], heading="Heading")
    write_epub(tmp_path / "n.epub", ["Chapter about a pangolin.", "More."])
    write_pdf(tmp_path / "n.pdf", ["Page one about an axolotl.", "Page two about a quokka."])
    texts = {p.suffix: read_source(str(p)).text for p in sorted(tmp_path.iterdir())}
    assert texts[".txt"] == "Plain text zebra.\n\nSecond."
    assert "giraffe" in texts[".md"]
    assert texts[".html"] == "Head\n\nHTML & okapi text"  # no script, no style, entities decoded
    assert texts[".docx"] == "Word paragraph about a narwhal.\n\nAnother."
    assert texts[".odt"] == "Heading\n\nODT paragraph about a tapir."
    assert texts[".epub"].startswith("Chapter 1\n\nChapter about a pangolin.")
    assert texts[".pdf"] == "Page one about an axolotl.\fPage two about a quokka."


@pytest.mark.parametrize("make, reason", [
    (lambda d: write_encrypted_pdf(d / "locked.pdf", ["secret"]), "encrypted PDF"),
    (lambda d: (d / "photo.txt").write_bytes(bytes(range(256)) * 40), "binary data, not text"),
    (lambda d: os.symlink("loop.md", d / "loop.md"), "loops back on itself"),
    (lambda d: _sparse(d / "huge.txt", 1 << 30), "too big: 1,074 MB"),
    (lambda d: write_epub(d / "drm.epub", ["x"], encrypted=True), "DRM"),
    (lambda d: (d / "fake.docx").write_bytes(b"not a zip at all"), "not a valid DOCX"),
    (lambda d: os.mkfifo(d / "pipe.txt"), "not a regular file"),
])
def test_each_bad_file_is_refused_with_its_reason(tmp_path: Path, make: Any, reason: str) -> None:
    make(tmp_path)
    (path,) = list(tmp_path.iterdir())
    with pytest.raises(UnreadableSource) as err:
        read_source(str(path))
    assert reason in err.value.reason


def _sparse(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def _corpus(root: Path, n: int) -> list[Path]:
    out = []
    for i in range(n):
        folder = root / f"part{i // 100}"
        folder.mkdir(parents=True, exist_ok=True)
        p = folder / f"note{i}.md"
        p.write_text(f"# Note {i}\n\nThis note is about item{i} and nothing else.\n\n{_sentences(5, f'topic{i % 7}')}\n")
        out.append(p)
    return out


def test_a_changed_file_is_read_again_and_a_deleted_one_disappears(tmp_path: Path) -> None:
    files = _corpus(tmp_path / "docs", 50)
    store = SourceStore(tmp_path / "c.sqlite3")
    store.add_roots([str(tmp_path / "docs")])
    first = index_collection(store, Recorder())
    assert (first.read, first.bad, first.unchanged) == (50, 0, 0)
    assert store.search("item7", top=1, mode="keyword")[0].path == str(files[7])

    files[3].write_text("# Note 3\n\nNow it speaks of a marmalade recipe.\n")
    os.utime(files[3], ns=(files[3].stat().st_atime_ns, files[3].stat().st_mtime_ns + 10**9))
    files[7].unlink()
    second = index_collection(store, Recorder())
    assert (second.read, second.unchanged, second.deleted) == (1, 48, 1)
    assert store.search("item7", mode="keyword") == []
    assert store.search("item3", mode="keyword") == []
    (hit,) = store.search("marmalade", mode="keyword")
    assert hit.path == str(files[3]) and hit.text.endswith("marmalade recipe.")
    assert store.counts()["files"] == 49
    third = index_collection(store, Recorder())
    assert (third.read, third.unchanged) == (0, 49)  # nothing read when nothing changed


def test_a_file_that_vanishes_mid_index_is_listed_and_the_rest_go_on(tmp_path: Path) -> None:
    files = _corpus(tmp_path / "docs", 20)
    store = SourceStore(tmp_path / "c.sqlite3")
    store.add_roots([str(tmp_path / "docs")])
    report = index_collection(store, Recorder(on_first=files[15].unlink))  # after the scan, before its read
    assert (report.read, report.bad) == (19, 1)
    assert store.bad_files() == [(str(files[15]), "it vanished before it could be read (moved or deleted)")]
    # gone for good: the next run forgets it
    assert index_collection(store, Recorder()).deleted == 1 and store.bad_files() == []


def test_the_size_limit_is_a_setting(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("small " * 10)
    (tmp_path / "docs" / "b.txt").write_text("bigger " * 1000)
    store = SourceStore(tmp_path / "c.sqlite3")
    store.add_roots([str(tmp_path / "docs")])
    report = index_collection(store, Recorder(), IndexSettings(max_bytes=1000))
    assert (report.read, report.bad) == (1, 1)
    assert "over the limit of 0 MB" in store.bad_files()[0][1]


def test_the_prompt_numbers_the_passages_and_citations_point_back(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("Intro.\n\nThe lighthouse lamp is lit at dusk by the keeper.\n")
    (tmp_path / "b.md").write_text("Bread needs flour, water, salt and yeast.\n")
    store = SourceStore(tmp_path / "c.sqlite3")
    store.add_roots([str(tmp_path)])
    index_collection(store, Recorder())
    hits = store.search("when is the lamp lit", mode="keyword") + store.search("flour", mode="keyword")
    message = sources_message(hits)
    assert f"[1] {tmp_path / 'a.md'}:1\nIntro.\n\nThe lighthouse lamp" in message
    assert f"[2] {tmp_path / 'b.md'}:1\nBread" in message
    assert cited_numbers("At dusk [1]. Also [2, 1] and [9].") == [1, 2, 9]
    parts = citation_parts("At dusk [1]. Also [2, 1] and [9].", hits)
    assert [p.source for p in parts] == [f"{tmp_path / 'a.md'}:1", f"{tmp_path / 'b.md'}:1"]
    assert fit_hits(hits, budget_tokens=120) == hits[:1]
