"""Opening and reading corpus files safely: what a file may be, and how its lines are read.

Only regular files are opened, so a named pipe or a device cannot hang or
flood an ingest; a line is never read whole beyond the row limit, so a file
without line breaks cannot fill memory; a line that is not UTF-8 text costs
that line, not the file. Every problem found is a :class:`Problem`
(``file:line: reason``), and one file lists at most ``MAX_PROBLEMS_PER_FILE``.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from index.errors import UserError

MAX_PROBLEMS_PER_FILE = 1000
"""Problems listed per file; the rest are counted in one last line, so a broken file cannot fill memory."""


@dataclass(frozen=True)
class Problem:
    """A rejected row or file: where it is and what is wrong with it."""

    path: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.reason}"


def file_size(path: Path) -> int:
    """Bytes of a regular file, for the progress bar; 0 for anything else (reported when it is read)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError:
        return 0
    return info.st_size if stat.S_ISREG(info.st_mode) else 0


_FILE_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISCHR, "a character device"),
               (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def open_regular(path: Path) -> BinaryIO | str:
    """The open file, or why it cannot be read: only regular files are read.

    Opened non-blocking and checked on the open descriptor: opening a named pipe for reading would wait
    for a writer forever, and a check of the path before opening could be raced.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        return "no such file"
    except OSError as exc:
        return f"cannot read: {exc.strerror}"
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
        return f"{kind}, not a corpus file: give a .md or .jsonl file"
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


class FileProblems:
    """The problems of one file: appended to the stream's list up to MAX_PROBLEMS_PER_FILE, then counted."""

    def __init__(self, path: Path, problems: list[Problem]):
        self.path = path
        self.problems = problems
        self.listed = 0
        self.unlisted = 0
        self.first_unlisted = 0

    def append(self, problem: Problem) -> None:
        if self.listed < MAX_PROBLEMS_PER_FILE:
            self.problems.append(problem)
            self.listed += 1
        else:
            self.unlisted += 1
            self.first_unlisted = self.first_unlisted or problem.line

    def close(self) -> None:
        if self.unlisted:
            self.problems.append(Problem(str(self.path), self.first_unlisted,
                                         f"{self.unlisted:,} more problems in this file are not listed"))


class Lines:
    """``(line number, text)`` of a file, decoded line by line so one bad line does not cost the rest.

    A line is read at most ``row_bytes`` at a time: a longer one is skipped to its end and reported,
    never held whole. Lines with NUL bytes or that are not UTF-8 are reported and skipped; when they
    are most of a file that yields no paper, the file is reported once as binary.
    """

    def __init__(self, file, path: Path, stream, problems: FileProblems):
        # stream: the CorpusStream reading the file, whose limits apply and whose byte count this advances.
        self.file = file
        self.path = path
        self.stream = stream
        self.problems = problems
        self.any_text = False
        self.count = 0
        self.bad = 0
        """Lines that are not text: NUL bytes, or not UTF-8."""
        self.nul = 0
        self.long = 0
        """Lines longer than ``row_bytes``."""

    @property
    def binary(self) -> bool:
        return self.nul > 0 and self.bad * 2 >= self.count

    def __iter__(self) -> Iterator[tuple[int, str]]:
        limit = self.stream.limits.row_bytes
        while raw := self.file.readline(limit + 1):
            self.count += 1
            number = self.count
            self.stream.bytes_read += len(raw)
            if len(raw) > limit and not raw.endswith(b"\n"):
                self._skip_rest(raw, limit)
                continue
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            raw = raw.rstrip(b"\n")
            if b"\0" in raw:
                column = raw.index(b"\0") + 1
                self._not_text(number, f"NUL byte at column {column}: binary data, not text", nul=True)
                continue
            try:
                text = raw.decode("utf-8").rstrip("\r")
            except UnicodeDecodeError as exc:
                self._not_text(number, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} "
                                       f"at column {exc.start + 1}); save the file as UTF-8", nul=False)
                continue
            self.any_text = self.any_text or bool(text.strip())
            yield number, text

    def _not_text(self, number: int, reason: str, nul: bool) -> None:
        self.bad += 1
        self.nul += nul
        self.problems.append(Problem(str(self.path), number, reason))

    def _skip_rest(self, start: bytes, limit: int) -> None:
        """Read past the end of an over-long line in bounded pieces, keeping only its length."""
        self.long += 1
        length = len(start)
        piece = start
        while piece and not piece.endswith(b"\n"):
            piece = self.file.readline(1 << 20)
            length += len(piece)
            self.stream.bytes_read += len(piece)
        length -= piece.endswith(b"\n")
        reason = (f"line is {length:,} bytes, more than {limit:,} (PAPERCHAT_MAX_ROW_BYTES); "
                  "rejected without reading it whole")
        if b"\0" in start:
            self._not_text(self.count, reason, nul=True)
        else:
            self.problems.append(Problem(str(self.path), self.count, reason))
