"""Saved conversations in a real SQLite file: per user, bounded, private, shared safely between processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import stat

import pytest

from ui.conversations import (DEFAULT_TITLE, LOCAL_USER, ConversationError, ConversationLimitReached,
                              ConversationLimits, ConversationNotFound, ConversationStore, conversation_user)

ANSWER = {"question": "q", "answer": "It cut WER to 5.1% [arXiv:2506.11079v1].", "abstained": False,
          "citations": [{"arxiv_id": "2506.11079v1", "supported": True}],
          "sentences": [{"text": "It cut WER to 5.1% [arXiv:2506.11079v1].", "citations": ["2506.11079v1"],
                         "supported": True, "method": "lexical", "evidence": [{"arxiv_id": "2506.11079v1",
                                                                               "index": 0}]}]}


@pytest.fixture
def store(tmp_path):
    return ConversationStore.in_data_dir(tmp_path / "data")


def test_create_list_open_rename_delete(store):
    first = store.create("alice")
    assert first.title == DEFAULT_TITLE and first.messages == []
    store.add_turn("alice", first.id, "Which paper detects children's reading mistakes?", ANSWER["answer"], ANSWER)
    store.add_turn("alice", first.id, "How much did it improve?", "By 4.3 points.")
    second = store.create("alice", "  CASPER   versions ")
    assert second.title == "CASPER versions"

    listed = store.list("alice")
    assert [c.id for c in listed] == [second.id, first.id]  # most recently created or changed first
    assert [c.turns for c in listed] == [0, 2]

    opened = store.open("alice", first.id)
    assert opened.title == "Which paper detects children's reading mistakes?"  # named after its first question
    assert opened.messages == [
        {"role": "user", "content": "Which paper detects children's reading mistakes?"},
        {"role": "assistant", "content": ANSWER["answer"], "answer": ANSWER},
        {"role": "user", "content": "How much did it improve?"},
        {"role": "assistant", "content": "By 4.3 points."}]
    assert opened.as_json()["messages"] == opened.messages and opened.turns == 2

    store.rename("alice", first.id, "Children's ASR")
    store.add_turn("alice", first.id, "And the F1?", "It rose.")
    assert store.open("alice", first.id).title == "Children's ASR"  # a chosen title stays
    store.delete("alice", first.id)
    assert [c.id for c in store.list("alice")] == [second.id]
    with pytest.raises(ConversationNotFound):
        store.open("alice", first.id)
    with sqlite3.connect(store.path) as conn:  # the messages went with it
        assert conn.execute("SELECT count(*) FROM messages WHERE conversation_id = ?", (first.id,)).fetchone() == (0,)


def test_a_users_conversations_are_invisible_to_others(store):
    mine = store.create("alice", "private")
    assert store.list("bob") == []
    for action in (lambda: store.open("bob", mine.id), lambda: store.rename("bob", mine.id, "x"),
                   lambda: store.delete("bob", mine.id), lambda: store.add_turn("bob", mine.id, "q", "a")):
        with pytest.raises(ConversationNotFound, match="no saved conversation"):
            action()
    assert store.open("alice", mine.id).messages == []
    assert conversation_user(None) == conversation_user("") == LOCAL_USER and conversation_user("bob") == "bob"


def test_every_size_is_bounded_with_a_one_line_error(tmp_path):
    limits = ConversationLimits(title_chars=10, turns_per_conversation=2, conversations_per_user=2,
                                message_chars=50, answer_bytes=300)
    store = ConversationStore(tmp_path / "c.sqlite3", limits)
    one = store.create("alice", "short")
    with pytest.raises(ConversationLimitReached, match="the title has 11 characters, more than 10"):
        store.rename("alice", one.id, "x" * 11)
    with pytest.raises(ConversationError, match="the title is empty"):
        store.rename("alice", one.id, "   ")
    with pytest.raises(ConversationLimitReached, match="the question has 51 characters, more than the 50"):
        store.add_turn("alice", one.id, "q" * 51, "a")
    with pytest.raises(ConversationLimitReached, match="the answer's record has .* bytes, more than the 300"):
        store.add_turn("alice", one.id, "q", "a", {"answer": "x" * 400})
    store.add_turn("alice", one.id, "q1", "a1")
    store.add_turn("alice", one.id, "q2", "a2")
    with pytest.raises(ConversationLimitReached, match="has 2 turns, the most one may hold: start a new"):
        store.add_turn("alice", one.id, "q3", "a3")
    store.create("alice")
    with pytest.raises(ConversationLimitReached, match="2 saved conversations, the most kept per user"):
        store.create("alice")
    store.create("bob")  # the limit is per user
    assert store.open("alice", one.id).turns == 2  # nothing of a refused write was kept


def test_the_file_is_private_and_in_wal_mode(tmp_path):
    data = tmp_path / "data"
    store = ConversationStore.in_data_dir(data)
    reader = sqlite3.connect(store.path)  # an open reader keeps the -wal and -shm files there
    try:
        assert reader.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        reader.execute("SELECT count(*) FROM conversations").fetchone()
        store.add_turn("alice", store.create("alice").id, "q", "a")
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        files = sorted(p.name for p in data.iterdir())
        assert files == ["conversations.sqlite3", "conversations.sqlite3-shm", "conversations.sqlite3-wal"]
        for name in files:
            assert stat.S_IMODE((data / name).stat().st_mode) == 0o600, name
    finally:
        reader.close()
    store.path.chmod(0o644)
    ConversationStore.in_data_dir(data)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600  # tightened when found open


def _writer(args) -> tuple[int, int]:
    """One process: create conversations up to the limit and add turns to the shared one."""
    path, shared, worker = args
    store = ConversationStore(path, ConversationLimits(conversations_per_user=12))
    created = refused = 0
    for n in range(6):
        try:
            store.create("alice", f"w{worker}-{n}")
            created += 1
        except ConversationLimitReached:
            refused += 1
        store.add_turn("alice", shared, f"w{worker} q{n}", f"a{n}")
    return created, refused


def test_processes_writing_at_once_keep_every_turn_and_every_limit(tmp_path):
    path = tmp_path / "c.sqlite3"
    shared = ConversationStore(path).create("alice", "shared").id
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.map(_writer, [(path, shared, w) for w in range(4)])
    store = ConversationStore(path)
    assert sum(created for created, _ in results) == 11 and sum(refused for _, refused in results) == 13
    assert len(store.list("alice")) == 12  # 1 shared + 11 created: never past the limit
    messages = store.open("alice", shared).messages
    assert len(messages) == 48 and [m["role"] for m in messages] == ["user", "assistant"] * 24
    questions = [m["content"] for m in messages if m["role"] == "user"]
    assert sorted(questions) == sorted(f"w{w} q{n}" for w in range(4) for n in range(6))


def test_a_conversation_keeps_the_scope_of_its_last_question(store):
    saved = store.create("alice")
    assert (store.open("alice", saved.id).papers, store.open("alice", saved.id).versions) == (None, "newest")
    store.add_turn("alice", saved.id, "What does it do?", "It adapts.", ANSWER, ["2506.22846", "2505.21138"], "all")
    opened = store.open("alice", saved.id)
    assert (opened.papers, opened.versions) == (["2506.22846", "2505.21138"], "all")
    assert opened.as_json()["scope"] == {"papers": ["2506.22846", "2505.21138"], "versions": "all"}
    store.add_turn("alice", saved.id, "And the whole collection?", "More.")
    assert (store.open("alice", saved.id).papers, store.open("alice", saved.id).versions) == (None, "newest")
    with pytest.raises(ConversationError, match="versions must be 'newest' or 'all'"):
        store.add_turn("alice", saved.id, "q", "a", None, ["2506.22846"], "every")
    with pytest.raises(ConversationError, match="list of at most 50 arXiv IDs"):
        store.add_turn("alice", saved.id, "q", "a", None, ["2506.22846"] * 51)


# The schema of the first release (commit 4858ef5), before conversations kept their scope.
FIRST_SCHEMA = """
CREATE TABLE conversations (id TEXT PRIMARY KEY, user TEXT NOT NULL, title TEXT NOT NULL,
    titled INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL, updated TEXT NOT NULL);
CREATE INDEX conversations_by_user ON conversations (user, updated);
CREATE TABLE messages (conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    position INTEGER NOT NULL, role TEXT NOT NULL CHECK (role IN ('user', 'assistant')), content TEXT NOT NULL,
    answer TEXT, PRIMARY KEY (conversation_id, position));
INSERT INTO conversations VALUES ('c1', 'alice', 'Old one', 1, '2026-11-01T00:00:00.000+00:00',
    '2026-11-01T00:00:00.000+00:00');
INSERT INTO messages VALUES ('c1', 0, 'user', 'Which paper?', NULL), ('c1', 1, 'assistant', 'This one.', NULL);
"""


def test_a_file_of_the_first_schema_gets_the_scope_columns_and_keeps_its_rows(tmp_path):
    path = tmp_path / "data" / "conversations.sqlite3"
    path.parent.mkdir(mode=0o700)
    with sqlite3.connect(path) as conn:
        conn.executescript(FIRST_SCHEMA)
    store = ConversationStore(path)
    old = store.open("alice", "c1")
    assert (old.title, old.turns, old.papers, old.versions) == ("Old one", 1, None, "newest")
    assert old.messages == [{"role": "user", "content": "Which paper?"}, {"role": "assistant", "content": "This one."}]
    store.add_turn("alice", "c1", "And within it?", "Yes.", None, ["2506.11091"])
    assert ConversationStore(path).open("alice", "c1").papers == ["2506.11091"]  # opened again: no second migration
    assert [c.turns for c in store.list("alice")] == [2]
