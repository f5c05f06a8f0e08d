"""Reading a file's text: plain text, Markdown, HTML, DOCX, ODT, EPUB and PDF.

Each reader returns the text as a person would read it, paragraphs separated by
blank lines (so the chunker can cut there); a PDF's pages are separated by form
feeds so a passage knows its page. Every way a file can't be read becomes an
:class:`~app.core.errors.UnreadableSource` with a reason a person understands
(encrypted, not text, no permission, gone, a link that loops, too big); the
indexer lists it and goes on. The office formats are ZIP files of XML read with
the standard library; PDF uses pypdf, imported only when a PDF is read.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath
from xml.etree import ElementTree

from app.core.errors import UnreadableSource

TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".markdown", ".rst", ".org", ".log", ".csv", ".tex"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES | {".docx", ".odt", ".epub", ".pdf"}
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
PAGE_BREAK = "\f"


@dataclass(frozen=True)
class ReadFile:
    """A file's text and what identifies the bytes it came from."""

    text: str
    size: int
    mtime_ns: int
    sha256: str
    kind: str


def is_source(name: str) -> bool:
    """Whether a file name has a suffix Inkling reads."""
    return os.path.splitext(name)[1].lower() in SUFFIXES


def read_source(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> ReadFile:
    """The text of the file at ``path``; raises UnreadableSource with the reason it can't be read."""
    data, st = _read_bytes(path, max_bytes)
    kind = os.path.splitext(path)[1].lower().lstrip(".")
    try:
        text = _extract(path, kind, data)
    except UnreadableSource:
        raise
    except (zipfile.BadZipFile, ElementTree.ParseError, KeyError) as exc:
        raise UnreadableSource(path, f"not a valid {kind.upper()} file (damaged, or another format): {exc}") from exc
    except Exception as exc:  # a reader library's own failure on a strange file must not stop the indexing
        raise UnreadableSource(path, f"could not be read as {kind.upper()}: {type(exc).__name__}: {exc}") from exc
    return ReadFile(text, st.st_size, st.st_mtime_ns, hashlib.sha256(data).hexdigest(), kind)


def _read_bytes(path: str, max_bytes: int) -> tuple[bytes, os.stat_result]:
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise UnreadableSource(path, "not a regular file (a folder, pipe or device)")
        if st.st_size > max_bytes:
            raise UnreadableSource(path, f"too big: {st.st_size / 1e6:,.0f} MB, over the limit of "
                                         f"{max_bytes / 1e6:,.0f} MB per file (a setting of the collection)")
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
            st = os.fstat(f.fileno())
    except UnreadableSource:
        raise
    except FileNotFoundError as exc:
        raise UnreadableSource(path, "it vanished before it could be read (moved or deleted)") from exc
    except PermissionError as exc:
        raise UnreadableSource(path, "no permission to read it") from exc
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnreadableSource(path, "a symbolic link that loops back on itself") from exc
        raise UnreadableSource(path, f"the system could not read it: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise UnreadableSource(path, f"it grew past the limit of {max_bytes / 1e6:,.0f} MB while being read")
    return data, st


def _extract(path: str, kind: str, data: bytes) -> str:
    if "." + kind in TEXT_SUFFIXES:
        return _plain(path, data)
    if "." + kind in HTML_SUFFIXES:
        return html_text(_plain(path, data))
    if kind == "docx":
        return _docx(data)
    if kind == "odt":
        return _odt(data)
    if kind == "epub":
        return _epub(path, data)
    if kind == "pdf":
        return _pdf(path, data)
    raise UnreadableSource(path, f"Inkling does not read .{kind} files")


def _plain(path: str, data: bytes) -> str:
    """Bytes as text: UTF-8 (with or without BOM), UTF-16 with a BOM, else Windows-1252; binary is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data[:8192]:
        raise UnreadableSource(path, "binary data, not text (the name says text, the contents don't)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    sample = text[:8192]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\n\r\t\f") + sample.count("\ufffd")
    if sample and controls / len(sample) > 0.05:
        raise UnreadableSource(path, "binary data, not text (the name says text, the contents don't)")
    return text.replace("\r\n", "\n").replace("\r", "\n")


class _HTMLText(HTMLParser):
    """Visible text of an HTML page: block elements become paragraph breaks, scripts and styles vanish."""

    BLOCKS = frozenset({"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
                        "section", "article", "blockquote", "pre", "hr", "dd", "dt", "title", "header", "footer"})
    HIDDEN = frozenset({"script", "style", "head", "noscript", "template", "svg"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.out.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.out.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.out.append(re.sub(r"[ \t\r\n]+", " ", data))


def html_text(markup: str) -> str:
    """The readable text of an HTML document, paragraphs separated by blank lines."""
    parser = _HTMLText()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.out)
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def _xml_paragraphs(xml: bytes, para_tags: set[str], text_tag: str | None, breaks: dict[str, str]) -> str:
    """Paragraph texts of an office XML part: text inside ``para_tags``, ``breaks`` mapped to characters."""
    root = ElementTree.fromstring(xml)
    paras: list[str] = []

    def walk(el: ElementTree.Element, into: list[str]) -> None:
        tag = el.tag
        if tag in breaks:
            into.append(breaks[tag])
        if el.text and (text_tag is None or tag == text_tag):
            into.append(el.text)
        for child in el:
            walk(child, into)
            if child.tail and text_tag is None:
                into.append(child.tail)

    for el in root.iter():
        if el.tag in para_tags:
            parts: list[str] = []
            walk(el, parts)
            paras.append("".join(parts).strip())
    return "\n\n".join(p for p in paras if p)


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"


def _docx(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read("word/document.xml")
    return _xml_paragraphs(xml, {_W + "p"}, _W + "t", {_W + "tab": "\t", _W + "br": "\n"})


def _odt(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read("content.xml")
    root = ElementTree.fromstring(xml)
    # headings and paragraphs, outermost only (a list item's paragraph is one paragraph)
    paras: list[str] = []
    for el in root.iter():
        if el.tag in (_TEXT + "p", _TEXT + "h"):
            paras.append(_odf_text(el).strip())
    return "\n\n".join(p for p in paras if p)


def _odf_text(el: ElementTree.Element) -> str:
    out = [el.text or ""]
    for child in el:
        if child.tag == _TEXT + "s":
            out.append(" " * int(child.get(_TEXT + "c", "1")))
        elif child.tag == _TEXT + "tab":
            out.append("\t")
        elif child.tag == _TEXT + "line-break":
            out.append("\n")
        elif child.tag not in (_TEXT + "p", _TEXT + "h"):
            out.append(_odf_text(child))
        out.append(child.tail or "")
    return "".join(out)


_OPF = "{http://www.idpf.org/2007/opf}"
_CONTAINER = "{urn:oasis:names:tc:opendocument:xmlns:container}"


def _epub(path: str, data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = set(z.namelist())
        if "META-INF/encryption.xml" in names:
            raise UnreadableSource(path, "an EPUB locked with DRM (encrypted); Inkling can't read its text")
        container = ElementTree.fromstring(z.read("META-INF/container.xml"))
        rootfile = container.find(f".//{_CONTAINER}rootfile")
        if rootfile is None:
            raise UnreadableSource(path, "an EPUB without a package document (damaged)")
        opf_path = rootfile.get("full-path", "")
        opf = ElementTree.fromstring(z.read(opf_path))
        base = PurePosixPath(opf_path).parent
        manifest = {item.get("id"): item.get("href", "") for item in opf.iter(_OPF + "item")}
        chapters = []
        for ref in opf.iter(_OPF + "itemref"):
            href = manifest.get(ref.get("idref"))
            if not href:
                continue
            name = str(base / href) if str(base) != "." else href
            if name in names:
                chapters.append(html_text(z.read(name).decode("utf-8", errors="replace")))
    return "\n\n".join(c for c in chapters if c)


def _pdf(path: str, data: bytes) -> str:
    import pypdf
    from pypdf.errors import PdfReadError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception:
                opened = 0
            if not opened:
                raise UnreadableSource(path, "an encrypted PDF that needs a password")
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
    except PdfReadError as exc:
        raise UnreadableSource(path, f"not a valid PDF (damaged, or another format): {exc}") from exc
    text = PAGE_BREAK.join(pages)
    if not text.strip(PAGE_BREAK + " \n"):
        raise UnreadableSource(path, "a PDF with no text (scanned pages would need text recognition)")
    return text
