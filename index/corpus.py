"""Read paper summaries from corpus files and validate them.

Two formats are understood:

* the markdown table of the bundled collection
  (``|Source|Title|Summary|`` with ``[title](url)`` links and ``<br/>`` breaks);
* JSONL, one ``{"arxiv_id", "title", "summary", "url"?}`` object per line.

Parsing never stops at a bad row or a bad file: every problem is collected
as a :class:`Problem` (``file:line: reason``) and the good rows are kept.
Files are read lazily, one row at a time (:class:`CorpusStream`), so a
collection far larger than memory can be ingested. What one row may hold is
bounded (:class:`CorpusLimits`): a line is never read whole beyond
``row_bytes``, so a file without line breaks cannot fill memory, and only
regular files are opened, so a named pipe or a device cannot hang or flood
an ingest.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from index.files import FileProblems, Lines, Problem, file_size, open_regular
from index.ids import canonical_url, parse_arxiv_id

MARKDOWN_SUFFIXES = {".md", ".markdown"}
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
SUFFIXES = MARKDOWN_SUFFIXES | JSONL_SUFFIXES

# Escape sequences (CSI "\x1b[2J", OSC "\x1b]0;title\x07") whole, then any other C0/C1 control but \t \n \r.
_CONTROL_RE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]{0,256}(?:\x07|\x1b\\)|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
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
class CorpusLimits:
    """How large one row and its parts may be (``IndexSettings.max_*`` configure them; documented there)."""

    row_bytes: int = 65_536
    title_chars: int = 500
    summary_chars: int = 8_000
    sentence_chars: int = 1_000


@dataclass
class Corpus:
    """What a set of files yielded: the good papers and the problems found."""

    papers: list[Paper] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    duplicates: int = 0


def detect_language(text: str) -> str:
    """``"zh"`` when Chinese characters make up a fair share of the letters, else ``"en"``."""
    cjk = len(_CJK_RE.findall(text))
    latin = len(_LATIN_RE.findall(text))
    # A Chinese character carries about as much as a 3-4 letter English word.
    return "zh" if cjk * 3 >= latin and cjk > 0 else "en"


def strip_control(text: str) -> str:
    """``text`` without terminal escape sequences and control characters (tab, newline and CR stay).

    Paper text is printed to terminals and sent to browsers: ``\\x1b[2J`` would clear a screen, NUL
    ends strings in C code. Applied at ingest and again wherever text is shown, for older indexes.
    """
    return _CONTROL_RE.sub("", text)


def _paper_url(given: str | None, arxiv_id: str) -> str:
    """Links to arxiv.org become the canonical https form; other http(s) links are kept."""
    given = (given or "").strip()
    usable = not re.search(r"[\s\x00-\x1f]", given)  # a link with whitespace or control characters is not one
    if given.startswith(("http://", "https://")) and "arxiv.org/" not in given and usable:
        return given
    return canonical_url(arxiv_id)


def clean_title(raw: str) -> str:
    return " ".join(strip_control(raw).replace("**", "").split())


def clean_summary(raw: str) -> str:
    """Markdown-table summary to plain text, keeping paragraphs and numbered points."""
    text = _BR_RE.sub("\n", strip_control(raw)).replace("**", "")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)  # at most one blank line between paragraphs
    return "\n".join(out).strip()


def read_corpus(paths: list[Path], limits: CorpusLimits = CorpusLimits()) -> Corpus:
    """Parse and validate every file into memory (see :class:`CorpusStream` for the rules)."""
    stream = CorpusStream(paths, limits)
    papers = list(stream)
    return Corpus(papers=papers, problems=stream.problems, duplicates=stream.duplicates)


class CorpusStream:
    """The papers of a set of files, read lazily one row at a time.

    Later files may add versions or papers. The same versioned ID with
    identical text is merged silently (counted in ``duplicates``); with
    different text the later row is rejected and the first one kept. To tell
    these apart the stream remembers a digest of every accepted row, a few
    dozen bytes per row, but never the rows themselves.

    A path that does not exist raises :class:`UserError` when the stream is
    created, before any row is read (a typo in a command). A file that exists
    but cannot be read as a corpus (a directory, a pipe, a device, a binary
    file, no permission) is one problem, listed in ``unreadable``, and the
    other files are still read.
    """

    def __init__(self, paths: list[Path], limits: CorpusLimits = CorpusLimits()):
        self.paths = [Path(p) for p in paths]
        self.limits = limits
        self.problems: list[Problem] = []
        self.unreadable: list[Path] = []
        """Files that yielded nothing because they could not be read as a corpus at all."""
        self.duplicates = 0
        self.base_ids: set[str] = set()
        self.bytes_read = 0
        self.bytes_total = sum(file_size(p) for p in self.paths if p.suffix.lower() in SUFFIXES)
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
            self.unreadable.append(path)
            return
        file = open_regular(path)
        if isinstance(file, str):
            self.problems.append(Problem(str(path), 1, file))
            self.unreadable.append(path)
            return
        problems_before = len(self.problems)
        problems = FileProblems(path, self.problems)
        parse = _parse_markdown if suffix in MARKDOWN_SUFFIXES else _parse_jsonl
        lines = Lines(file, path, self, problems)
        found = 0
        with file:
            for paper in parse(path, lines, problems, self.limits):
                found += 1
                yield paper
        if not found and lines.binary:
            # One line for the file, not one per line that is not text.
            del self.problems[problems_before:]
            self.problems.append(Problem(str(path), 1, f"binary file ({lines.bad:,} of {lines.count:,} lines are not "
                                         "UTF-8 text); expected a markdown table (.md) or JSONL (.jsonl) in UTF-8"))
            self.unreadable.append(path)
            return
        problems.close()
        if not lines.any_text and not lines.bad and not lines.long:
            self.problems.append(Problem(str(path), 1, "file is empty"))
        elif not found and len(self.problems) == problems_before:
            self.problems.append(Problem(str(path), 1, "no paper rows found"))




def _split_row(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip())
    if cells and cells[0] == "":
        cells = cells[1:]
    if cells and cells[-1] == "":
        cells = cells[:-1]
    return [c.strip() for c in cells]


def _is_separator(cells: list[str]) -> bool:
    return bool(cells) and all(re.fullmatch(r":?-{3,}:?", c) for c in cells)


def _parse_markdown(path: Path, lines: Iterable[tuple[int, str]], problems: list[Problem],
                    limits: CorpusLimits) -> Iterator[Paper]:
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
                            url, problems, limits)
        if paper:
            yield paper


def _parse_jsonl(path: Path, lines: Iterable[tuple[int, str]], problems: list[Problem],
                 limits: CorpusLimits) -> Iterator[Paper]:
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
                            row.get("summary") or "", row.get("url"), problems, limits)
        if paper:
            yield paper


def _make_paper(path: Path, number: int, raw_id: str, raw_title: str, raw_summary: str,
                url: str | None, problems: list[Problem], limits: CorpusLimits) -> Paper | None:
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
    if len(title) > limits.title_chars:
        return reject(f"{arxiv_id}: title is {len(title):,} characters, more than {limits.title_chars:,} "
                      "(PAPERCHAT_MAX_TITLE_CHARS)")
    summary = clean_summary(raw_summary)
    if not summary:
        return reject(f"{arxiv_id}: missing summary")
    if len(summary) > limits.summary_chars:
        return reject(f"{arxiv_id}: summary is {len(summary):,} characters, more than {limits.summary_chars:,} "
                      "(PAPERCHAT_MAX_SUMMARY_CHARS)")
    longest = _longest_sentence(summary)
    if longest > limits.sentence_chars:
        return reject(f"{arxiv_id}: the summary has a sentence of {longest:,} characters, more than "
                      f"{limits.sentence_chars:,} (PAPERCHAT_MAX_SENTENCE_CHARS); end its sentences with punctuation")
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


def _longest_sentence(summary: str) -> int:
    from index.chunking import split_sentences  # chunking builds on this module

    return max((len(sentence) for line in summary.splitlines() for sentence in split_sentences(line, max_chars=None)),
               default=0)
