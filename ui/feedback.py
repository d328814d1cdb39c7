"""Feedback on answers: one JSON line per event, appended so that none is lost.

Each event (a thumbs up or down, or a comment on it) is one line of
``Settings.feedback_path``. A line is written with a single ``write`` while
holding a lock (a thread lock for the chat server's worker threads and an
``flock`` for other processes appending to the same file), then flushed and
fsynced, so a crash never leaves half a line or loses an acknowledged event.
The log quotes what users asked: it is readable by its owner only (0600, in a
0700 directory), and a file found open to others is tightened on the next write.
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

from index.settings import private_dir


class FeedbackLog:
    """An append-only JSONL file of feedback events, safe with concurrent writers."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, event: dict) -> dict:
        """Write ``event`` plus a UTC ``timestamp`` as one line; returns what was written.

        Raises ValueError for an event that is not JSON-serialisable, before anything is written.
        """
        record = {"timestamp": datetime.now(timezone.utc).isoformat(timespec="milliseconds"), **event}
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        private_dir(self.path.parent)
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                info = os.fstat(fd)
                if info.st_uid == os.getuid() and info.st_mode & 0o077:
                    os.fchmod(fd, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX)
                written = 0
                while written < len(line):  # os.write may write less than asked
                    written += os.write(fd, line[written:])
                os.fsync(fd)
            finally:
                os.close(fd)  # also releases the flock
        return record

    def read(self) -> list[dict]:
        """Every event so far (for tests and reports)."""
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
