"""Saved conversations: one SQLite file in the data directory, each conversation owned by one user.

The user is the login name when the chat runs with ``--auth``, else
:data:`LOCAL_USER` (one person on their own machine). Every read and write names
the user, and another user's conversation is "not found" like a missing one, so
one user can neither see nor guess another's.

Each message keeps the answer object of ``paperchat ask --json`` next to its
text, so a reopened or exported conversation still has its sources, citations
and grounding; each conversation keeps the papers its last question was limited
to (the chat's picker), so that reopened it is asked within them again. A file
made before a column was added gets it when opened, its rows kept
(:data:`_ADDED_COLUMNS`). The file quotes what people asked: it is readable by its owner
only (0600, in the 0700 data directory), WAL mode lets the chat's threads and
other processes (``paperchat export``) read while one writes, and each change is
one transaction (limits are checked inside it, so two writers cannot both slip
under a limit). Every size is bounded (:class:`ConversationLimits`); going over
is a :class:`ConversationError` whose one line says what and how to go on.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from assistant.scope import MAX_SCOPE_PAPERS
from index.errors import UserError
from index.settings import private_dir

LOCAL_USER = "local"
"""The owner of conversations when the chat has no login."""
FILE_NAME = "conversations.sqlite3"
DEFAULT_TITLE = "New conversation"
AUTO_TITLE_CHARS = 60
"""A conversation created without a title is named after its first question, cut to this many characters."""
BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    title TEXT NOT NULL,
    titled INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    scope_papers TEXT,
    scope_versions TEXT NOT NULL DEFAULT 'newest'
);
CREATE INDEX IF NOT EXISTS conversations_by_user ON conversations (user, updated);
CREATE TABLE IF NOT EXISTS messages (
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content TEXT NOT NULL,
    answer TEXT,
    PRIMARY KEY (conversation_id, position)
);
"""
_ADDED_COLUMNS = {
    "scope_papers": "ALTER TABLE conversations ADD COLUMN scope_papers TEXT",
    "scope_versions": "ALTER TABLE conversations ADD COLUMN scope_versions TEXT NOT NULL DEFAULT 'newest'",
}
"""Columns added to the first schema, and how a file made before them gets them (its rows kept)."""


class ConversationError(UserError):
    """A conversation that is not there (or not this user's), or a size over its limit."""


class ConversationNotFound(ConversationError):
    pass


class ConversationLimitReached(ConversationError):
    pass


@dataclass(frozen=True)
class ConversationLimits:
    """The most one conversation store holds; every write checks them."""

    title_chars: int = 200
    turns_per_conversation: int = 200
    """A turn is a question and its answer."""
    conversations_per_user: int = 500
    message_chars: int = 20_000
    """Longest question or answer text (questions reach the engine cut to ``max_question_chars`` anyway)."""
    answer_bytes: int = 100_000
    """Largest saved answer object (``ask --json``: the evidence shown is most of it)."""
    user_chars: int = 200


@dataclass
class ConversationSummary:
    id: str
    title: str
    created: str
    updated: str
    turns: int


@dataclass
class Conversation:
    id: str
    user: str
    title: str
    created: str
    updated: str
    messages: list[dict] = field(default_factory=list)
    """``{"role", "content"}`` messages (the ``--history`` format); an assistant message may also hold
    ``"answer"``, its ``ask --json`` object."""
    papers: list[str] | None = None
    """The papers its last question was limited to, as chosen (the chat's picker; assistant/scope.py);
    None: the whole collection. Reopened, the chat asks within them again."""
    versions: str = "newest"
    """What a base ID of ``papers`` means: its ``newest`` version or ``all`` of them."""

    @property
    def turns(self) -> int:
        return sum(m["role"] == "user" for m in self.messages)

    def as_json(self) -> dict:
        """What ``paperchat export`` reads, and what a saved-conversation file holds."""
        return {"id": self.id, "title": self.title, "created": self.created, "updated": self.updated,
                "scope": {"papers": self.papers, "versions": self.versions}, "messages": self.messages}


class ConversationStore:
    """Create, list, open, extend, rename and delete the conversations of each user in one SQLite file."""

    def __init__(self, path: Path, limits: ConversationLimits = ConversationLimits()):
        self.path = Path(path)
        self.limits = limits
        private_dir(self.path.parent)
        # Created 0600 before SQLite opens it; SQLite gives the -wal and -shm files the same mode.
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            info = os.fstat(fd)
            if info.st_uid == os.getuid() and info.st_mode & 0o077:
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
        self._migrate()

    @classmethod
    def in_data_dir(cls, data_dir: Path, limits: ConversationLimits = ConversationLimits()) -> ConversationStore:
        """The store of a data directory (``Settings.data_dir``)."""
        return cls(Path(data_dir) / FILE_NAME, limits)

    # -- reading ---------------------------------------------------------------------------------------

    def list(self, user: str) -> list[ConversationSummary]:
        """The user's conversations, most recently changed first."""
        user = self._user(user)
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT c.id, c.title, c.created, c.updated, "
                "(SELECT count(*) FROM messages m WHERE m.conversation_id = c.id AND m.role = 'user') "
                "FROM conversations c WHERE c.user = ? ORDER BY c.updated DESC, c.rowid DESC", (user,)).fetchall()
        return [ConversationSummary(*row) for row in rows]

    def open(self, user: str, conversation_id: str) -> Conversation:
        """The conversation with its messages; ConversationNotFound when it is not the user's."""
        user = self._user(user)
        with self._connect() as conn:
            row = self._row(conn, user, conversation_id)
            papers, versions = conn.execute("SELECT scope_papers, scope_versions FROM conversations WHERE id = ?",
                                            (conversation_id,)).fetchone()
            messages = []
            for role, content, answer in conn.execute(
                    "SELECT role, content, answer FROM messages WHERE conversation_id = ? ORDER BY position",
                    (conversation_id,)):
                message = {"role": role, "content": content}
                if answer is not None:
                    message["answer"] = json.loads(answer)
                messages.append(message)
        return Conversation(row[0], user, row[1], row[2], row[3], messages,
                            json.loads(papers) if papers is not None else None, versions)

    # -- writing ---------------------------------------------------------------------------------------

    def create(self, user: str, title: str | None = None) -> Conversation:
        """A new, empty conversation; without a ``title`` it is named after its first question."""
        user = self._user(user)
        title_given = title is not None and bool(title.strip())
        title = self._title(title) if title_given else DEFAULT_TITLE
        now = _now()
        conversation_id = secrets.token_hex(8)
        with self._writing() as conn:
            (count,) = conn.execute("SELECT count(*) FROM conversations WHERE user = ?", (user,)).fetchone()
            if count >= self.limits.conversations_per_user:
                raise ConversationLimitReached(
                    f"{count} saved conversations, the most kept per user: delete some to start a new one")
            conn.execute("INSERT INTO conversations (id, user, title, titled, created, updated) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (conversation_id, user, title, int(title_given), now, now))
        return Conversation(conversation_id, user, title, now, now, [])

    def add_turn(self, user: str, conversation_id: str, question: str, answer_text: str,
                 answer: dict | None = None, papers: list[str] | None = None, versions: str = "newest") -> None:
        """Append a question and its answer (``answer``: the ``ask --json`` object, if there is one).

        ``papers`` and ``versions`` are the scope the question was asked in (None: the whole collection); the
        conversation keeps its last question's, so that reopened it is asked within them again.
        """
        user = self._user(user)
        scope = self._scope(papers, versions)
        for name, text in (("question", question), ("answer", answer_text)):
            if not isinstance(text, str):
                raise ConversationError(f"the {name} must be text")
            if len(text) > self.limits.message_chars:
                raise ConversationLimitReached(f"the {name} has {len(text):,} characters, more than the "
                                               f"{self.limits.message_chars:,} a saved message may hold")
        saved = None if answer is None else json.dumps(answer, ensure_ascii=False)
        if saved is not None and len(saved.encode("utf-8")) > self.limits.answer_bytes:
            raise ConversationLimitReached(f"the answer's record has {len(saved.encode('utf-8')):,} bytes, more than "
                                           f"the {self.limits.answer_bytes:,} a saved answer may hold")
        with self._writing() as conn:
            _, _, _, _, titled = self._row(conn, user, conversation_id)
            (turns, last) = conn.execute(
                "SELECT count(*) FILTER (WHERE role = 'user'), coalesce(max(position), -1) FROM messages "
                "WHERE conversation_id = ?", (conversation_id,)).fetchone()
            if turns >= self.limits.turns_per_conversation:
                raise ConversationLimitReached(f"this conversation has {turns} turns, the most one may hold: "
                                               "start a new conversation")
            conn.executemany(
                "INSERT INTO messages (conversation_id, position, role, content, answer) VALUES (?, ?, ?, ?, ?)",
                [(conversation_id, last + 1, "user", question, None),
                 (conversation_id, last + 2, "assistant", answer_text, saved)])
            if not titled and turns == 0:
                title = " ".join(question.split())
                title = title if len(title) <= AUTO_TITLE_CHARS else title[:AUTO_TITLE_CHARS - 1] + "…"
                conn.execute("UPDATE conversations SET title = ? WHERE id = ?", (title or DEFAULT_TITLE,
                                                                                conversation_id))
            conn.execute("UPDATE conversations SET updated = ?, scope_papers = ?, scope_versions = ? WHERE id = ?",
                         (_now(), *scope, conversation_id))

    def drop_last_turn(self, user: str, conversation_id: str, turns: int) -> bool:
        """Remove the last question and its answer (the chat's undo and retry) if the conversation has ``turns``
        turns, as the chat showing it counts them; False (nothing removed) otherwise, e.g. when the answer being
        taken back was an error, which is never saved."""
        user = self._user(user)
        with self._writing() as conn:
            self._row(conn, user, conversation_id)
            (saved, last_question) = conn.execute(
                "SELECT count(*) FILTER (WHERE role = 'user'), max(position) FILTER (WHERE role = 'user') "
                "FROM messages WHERE conversation_id = ?", (conversation_id,)).fetchone()
            if saved != turns or last_question is None:
                return False
            conn.execute("DELETE FROM messages WHERE conversation_id = ? AND position >= ?",
                         (conversation_id, last_question))
            conn.execute("UPDATE conversations SET updated = ? WHERE id = ?", (_now(), conversation_id))
        return True

    def rename(self, user: str, conversation_id: str, title: str) -> None:
        user = self._user(user)
        title = self._title(title)
        with self._writing() as conn:
            self._row(conn, user, conversation_id)
            conn.execute("UPDATE conversations SET title = ?, titled = 1, updated = ? WHERE id = ?",
                         (title, _now(), conversation_id))

    def delete(self, user: str, conversation_id: str) -> None:
        """Delete the conversation and its messages; ConversationNotFound when it is not the user's."""
        user = self._user(user)
        with self._writing() as conn:
            self._row(conn, user, conversation_id)
            conn.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))

    # -- helpers ---------------------------------------------------------------------------------------

    def _user(self, user: str) -> str:
        if not isinstance(user, str) or not user.strip():
            raise ConversationError("no user: conversations are saved per user")
        if len(user) > self.limits.user_chars:
            raise ConversationError(f"a user name of {len(user)} characters, more than {self.limits.user_chars}")
        return user

    def _scope(self, papers: list[str] | None, versions: str) -> tuple[str | None, str]:
        """A scope as stored: the papers as a JSON list (NULL: none) and the versions."""
        if versions not in ("newest", "all"):
            raise ConversationError(f"versions must be 'newest' or 'all', not {str(versions)[:20]!r}")
        if papers is None:
            return None, versions
        if not isinstance(papers, list) or not all(isinstance(p, str) and len(p) <= 40 for p in papers) \
                or len(papers) > MAX_SCOPE_PAPERS:
            raise ConversationError(f"a scope is a list of at most {MAX_SCOPE_PAPERS} arXiv IDs")
        return (json.dumps(papers) if papers else None), versions

    def _migrate(self) -> None:
        """Give a file made by an earlier schema the columns added since, keeping its rows (one transaction, so
        two processes opening the same old file do not both add them)."""
        with self._writing() as conn:
            present = {row[1] for row in conn.execute("PRAGMA table_info(conversations)")}
            for column, statement in _ADDED_COLUMNS.items():
                if column not in present:
                    conn.execute(statement)

    def _title(self, title: str) -> str:
        title = " ".join(str(title).split())
        if not title:
            raise ConversationError("the title is empty: give the conversation a name")
        if len(title) > self.limits.title_chars:
            raise ConversationLimitReached(f"the title has {len(title)} characters, more than "
                                           f"{self.limits.title_chars}: choose a shorter one")
        return title

    @staticmethod
    def _row(conn: sqlite3.Connection, user: str, conversation_id: str) -> tuple:
        row = conn.execute("SELECT id, title, created, updated, titled FROM conversations WHERE id = ? AND user = ?",
                           (str(conversation_id), user)).fetchone()
        if row is None:
            raise ConversationNotFound(f"no saved conversation {str(conversation_id)[:40]!r} for this user")
        return row

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection for one operation (the chat's threads each get their own, as SQLite wants)."""
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        try:
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            yield conn
        finally:
            conn.close()

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE takes the write lock first, so a limit checked inside it holds."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")


def conversation_user(login_name: str | None) -> str:
    """Whose conversations these are: the login name with ``--auth``, else :data:`LOCAL_USER`."""
    return login_name if login_name else LOCAL_USER


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")
