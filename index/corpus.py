"""Read paper summaries from corpus files and validate them.

Two formats are understood:

* the markdown table of the bundled collection
  (``|Source|Title|Summary|`` with ``[title](url)`` links and ``<br/>`` breaks);
* JSONL, one ``{"arxiv_id", "title", "summary", "url"?}`` object per line.

Parsing never stops at a bad row: every problem is collected as a
:class:`Problem` (``file:line: reason``) and the good rows are kept.
Files are read lazily, one row at a time (:class:`CorpusStream`), so a
collection far larger than memory can be ingested.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from index.errors import UserError

MARKDOWN_SUFFIXES = {".md", ".markdown"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUFFIXES = MARKDOWN_SUFFIXES | JSONL_SUFFIXES

# New-style (2506.11091v1) and old-style (hep-th/9901001v2) arXiv identifiers.
_ID_RE = re.compile(
    r"^(?:arxiv:)?(?P<base>\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[a-z]{2})?/\d{7})(?:v(?P<version>\d+))?$",
    re.IGNORECASE,
)
_LINK_RE = re.compile(r"^\[(?P<title>.*)\]\((?P<url>[^)\s]*)\)$", re.DOTALL)
_BR_RE = re.compile(r"<br\s*/?>", re.IGNORECASE)
_POINT_RE = re.compile(r"^\d{1,2}\s*[.、)）](?!\d)\s*")
_CJK_RE = re.compile(r"[\u3400-\u9fff]")
_LATIN_RE = re.compile(r"[A-Za-z]")


@dataclass(frozen=True)
class Paper:
    """One version of one paper, normalised.

    ``summary`` is plain text: paragraphs separated by blank lines and each
    numbered contribution point on a line of its own (``"1. ..."``).
    """

    arxiv_id: str
    base_id: str
    version: int
    title: str
    summary: str
    url: str
    language: str
    source: str = field(default="", compare=False)


@dataclass(frozen=True)
class Problem:
    """A rejected row or file: where it is and what is wrong with it."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


@dataclass
class Corpus:
    """What a set of files yielded: the good papers and the problems found."""

    papers: list[Paper] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    duplicates: int = 0


def parse_arxiv_id(raw: str) -> tuple[str, str, int] | None:
    """Split an arXiv identifier into (versioned id, base id, version).

    An identifier without a version is taken as version 1. Returns None when
    ``raw`` is not an arXiv identifier.
    """
    match = _ID_RE.match(raw.strip())
    if not match:
        return None
    base = match["base"].lower() if "/" in match["base"] else match["base"]
    version = int(match["version"] or 1)
    if version < 1:
        return None
    if "/" not in base:
        # Four-digit numbers were used until 1412, five-digit ones since 1501.
        yymm, number = base.split(".")
        if (len(number) == 4) != (int(yymm) <= 1412):
            return None
    return f"{base}v{version}", base, version


def canonical_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def detect_language(text: str) -> str:
    """``"zh"`` when Chinese characters make up a fair share of the letters, else ``"en"``."""
    cjk = len(_CJK_RE.findall(text))
    latin = len(_LATIN_RE.findall(text))
    # A Chinese character carries about as much as a 3-4 letter English word.
    return "zh" if cjk * 3 >= latin and cjk > 0 else "en"


def _paper_url(given: str | None, arxiv_id: str) -> str:
    """Links to arxiv.org become the canonical https form; other http(s) links are kept."""
    given = (given or "").strip()
    if given.startswith(("http://", "https://")) and "arxiv.org/" not in given:
        return given
    return canonical_url(arxiv_id)


def clean_title(raw: str) -> str:
    return " ".join(raw.replace("**", "").split())


def clean_summary(raw: str) -> str:
    """Markdown-table summary to plain text, keeping paragraphs and numbered points."""
    text = _BR_RE.sub("\n", raw).replace("**", "")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)  # at most one blank line between paragraphs
    return "\n".join(out).strip()


def read_corpus(paths: list[Path]) -> Corpus:
    """Parse and validate every file into memory (see :class:`CorpusStream` for the rules)."""
    stream = CorpusStream(paths)
    papers = list(stream)
    return Corpus(papers=papers, problems=stream.problems, duplicates=stream.duplicates)


class CorpusStream:
    """The papers of a set of files, read lazily one row at a time.

    Later files may add versions or papers. The same versioned ID with
    identical text is merged silently (counted in ``duplicates``); with
    different text the later row is rejected and the first one kept. To tell
    these apart the stream remembers a digest of every accepted row, a few
    dozen bytes per row, but never the rows themselves.

    Missing or unreadable files raise :class:`UserError` when the stream is
    created, before any row is read.
    """

    def __init__(self, paths: list[Path]):
        self.paths = [Path(p) for p in paths]
        self.problems: list[Problem] = []
        self.duplicates = 0
        self.base_ids: set[str] = set()
        self.bytes_read = 0
        self.bytes_total = sum(_size(p) for p in self.paths if p.suffix.lower() in SUFFIXES)
        self._seen: dict[str, tuple[bytes, str]] = {}

    def __iter__(self) -> Iterator[Paper]:
        for path in self.paths:
            for paper in self._read_file(path):
                digest = hashlib.blake2b(f"{paper.title}\0{paper.summary}".encode(), digest_size=8).digest()
                first = self._seen.get(paper.arxiv_id)
                if first is None:
                    self._seen[paper.arxiv_id] = (digest, paper.source)
                    self.base_ids.add(paper.base_id)
                    yield paper
                elif first[0] == digest:
                    self.duplicates += 1
                else:
                    file, _, line = paper.source.rpartition(":")
                    self.problems.append(
                        Problem(file, int(line), f"{paper.arxiv_id} appears twice with different text "
                                f"(first at {first[1]}); kept the first")
                    )

    def _read_file(self, path: Path) -> Iterator[Paper]:
        suffix = path.suffix.lower()
        if suffix not in SUFFIXES:
            self.problems.append(Problem(str(path), 1, f"unsupported file type '{suffix or path.name}' "
                                         "(expected .md for a markdown table or .jsonl)"))
            return
        problems_before = len(self.problems)
        parse = _parse_markdown if suffix in MARKDOWN_SUFFIXES else _parse_jsonl
        lines = _Lines(path, self)
        found = False
        for paper in parse(path, lines, self.problems):
            found = True
            yield paper
        if not lines.any_text:
            self.problems.append(Problem(str(path), 1, "file is empty"))
        elif not found and len(self.problems) == problems_before:
            self.problems.append(Problem(str(path), 1, "no paper rows found"))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read: {exc.strerror}") from None


class _Lines:
    """``(line number, text)`` of a file, decoded line by line so one bad line does not cost the rest."""

    def __init__(self, path: Path, stream: CorpusStream):
        self.path = path
        self.stream = stream
        self.any_text = False

    def __iter__(self) -> Iterator[tuple[int, str]]:
        try:
            file = open(self.path, "rb")
        except OSError as exc:
            raise UserError(f"{self.path}: cannot read: {exc.strerror}") from None
        with file:
            for number, raw in enumerate(file, start=1):
                self.stream.bytes_read += len(raw)
                if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                    raw = raw[3:]
                raw = raw.rstrip(b"\n")
                try:
                    text = raw.decode("utf-8").rstrip("\r")
                except UnicodeDecodeError as exc:
                    self.stream.problems.append(Problem(
                        str(self.path), number, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} "
                        f"at column {exc.start + 1}); save the file as UTF-8"))
                    continue
                self.any_text = self.any_text or bool(text.strip())
                yield number, text


def _split_row(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip())
    if cells and cells[0] == "":
        cells = cells[1:]
    if cells and cells[-1] == "":
        cells = cells[:-1]
    return [c.strip() for c in cells]


def _is_separator(cells: list[str]) -> bool:
    return bool(cells) and all(re.fullmatch(r":?-{3,}:?", c) for c in cells)


def _parse_markdown(path: Path, lines: Iterable[tuple[int, str]], problems: list[Problem]) -> Iterator[Paper]:
    in_table = False
    for number, line in lines:
        stripped = line.strip()
        if not stripped.startswith("|"):
            if in_table and stripped:
                problems.append(Problem(str(path), number, "not a table row (expected '|Source|Title|Summary|')"))
            continue
        cells = _split_row(stripped)
        if _is_separator(cells):
            in_table = True
            continue
        if not in_table or (cells and cells[0].lower() == "source"):
            continue  # the header row, or a table of something else before ours
        if len(cells) < 3:
            problems.append(Problem(str(path), number, f"too few columns: {len(cells)} of 3 "
                                    "(Source | Title | Summary)"))
            continue
        raw_id, raw_title = cells[0], cells[1]
        raw_summary = "|".join(cells[2:])  # an unescaped '|' inside the summary
        url = None
        link = _LINK_RE.match(raw_title)
        if link:
            raw_title, url = link["title"], link["url"]
        # '\|' is the table's escape of a pipe; JSONL text has no such escape and keeps its backslashes.
        paper = _make_paper(path, number, raw_id, raw_title.replace("\\|", "|"), raw_summary.replace("\\|", "|"),
                            url, problems)
        if paper:
            yield paper


def _parse_jsonl(path: Path, lines: Iterable[tuple[int, str]], problems: list[Problem]) -> Iterator[Paper]:
    for number, line in lines:
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(str(path), number, f"invalid JSON: {exc.msg} at column {exc.colno}"))
            continue
        except RecursionError:  # json's decoder recurses once per level of [ or {
            problems.append(Problem(str(path), number, "invalid JSON: nested too deeply"))
            continue
        if not isinstance(row, dict):
            problems.append(Problem(str(path), number, "expected a JSON object with arxiv_id, title, summary"))
            continue
        bad = [k for k in ("arxiv_id", "title", "summary", "url")
               if row.get(k) is not None and not isinstance(row[k], str)]
        if bad:
            problems.append(Problem(str(path), number, f"field '{bad[0]}' must be a string"))
            continue
        paper = _make_paper(path, number, row.get("arxiv_id") or "", row.get("title") or "",
                            row.get("summary") or "", row.get("url"), problems)
        if paper:
            yield paper


def _make_paper(path: Path, number: int, raw_id: str, raw_title: str, raw_summary: str,
                url: str | None, problems: list[Problem]) -> Paper | None:
    def reject(reason: str) -> None:
        problems.append(Problem(str(path), number, reason))

    if not raw_id.strip():
        return reject("missing arxiv_id")
    parsed = parse_arxiv_id(raw_id)
    if parsed is None:
        return reject(f"malformed arXiv ID '{raw_id.strip()[:40]}' (expected e.g. 2506.11091v1)")
    arxiv_id, base_id, version = parsed
    title = clean_title(raw_title)
    if not title:
        return reject(f"{arxiv_id}: missing title")
    summary = clean_summary(raw_summary)
    if not summary:
        return reject(f"{arxiv_id}: missing summary")
    return Paper(
        arxiv_id=arxiv_id,
        base_id=base_id,
        version=version,
        title=title,
        summary=summary,
        url=_paper_url(url, arxiv_id),
        language=detect_language(summary),
        source=f"{path}:{number}",
    )
