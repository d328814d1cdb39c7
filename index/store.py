"""The Chroma collection that holds the chunks and their vectors.

Embedded (``PersistentClient`` in the data directory) by default; a Chroma
server (``chroma run``) when ``chroma_url`` is set. Chroma never embeds text
itself here: every write and every query passes vectors we computed.

Records are written in llama-index's node format (``node_to_metadata_dict``),
so llama-index's own ``ChromaVectorStore`` can read the same collection.

A rebuild is written aside, into a new collection under a temporary name
(:meth:`PaperStore.aside`), and renamed into place only once it is complete
(:meth:`PaperStore.replace_with`): a rebuild that fails or is killed leaves
the old collection as it was.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import chromadb
import httpx
from chromadb.api import ClientAPI
from chromadb.config import Settings as ChromaSettings
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.utils import node_to_metadata_dict

from index.chunking import Chunk
from index.embedders import embedder_name
from index.errors import EmbedderMismatch, UserError
from index.redact import redact
from index.settings import IndexSettings, private_dir


EF_SEARCH = 500
"""Candidates Chroma's HNSW graph explores per query (its default, 100, is a trade for speed on millions).

Retrieval asks for 80+ chunks among close cosine similarities (e5 puts most chunks of a collection within 0.1 of
each other). At 100, 10 of the 4,800 nearest chunks of 60 dev questions were missing, different ones in each
process: the same question ranked its papers differently from run to run, and a test passed here and failed in
CI (docs/performance.md, "Exact nearest chunks"). At 500, none was missing in any process, and bench.smoke's
retrieval time on the bundled collection did not change measurably."""


def _chroma_settings() -> ChromaSettings:
    # A new object per client: chromadb's HttpClient and PersistentClient write the server address or
    # the path into the settings they are given, so a shared one sent a later embedded client to the server.
    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


@dataclass(frozen=True)
class StoredChunk:
    """A chunk as it comes back from the store, with its similarity to a query."""

    id: str
    text: str
    metadata: dict
    score: float = 0.0


def open_client(settings: IndexSettings) -> ClientAPI:
    """Chroma server when ``chroma_url`` is set, else embedded Chroma on disk."""
    if settings.chroma_url:
        url = urlparse(settings.chroma_url if "://" in settings.chroma_url else f"http://{settings.chroma_url}")
        try:
            client = chromadb.HttpClient(host=url.hostname or "127.0.0.1", port=url.port or 8000,
                                         ssl=url.scheme == "https", settings=_chroma_settings())
            client.heartbeat()
        except Exception as exc:  # chromadb raises several types for a dead server
            raise UserError(f"cannot reach the Chroma server at {redact(settings.chroma_url)} "
                            f"({type(exc).__name__}); start it with `chroma run` or unset PAPERCHAT_CHROMA_URL"
                            ) from None
        return client
    private_dir(settings.data_dir)
    settings.chroma_path.mkdir(exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_path), settings=_chroma_settings())


def describe_location(settings: IndexSettings) -> str:
    """Where the index lives, for messages; credentials in a server URL are left out."""
    return (f"Chroma server {redact(settings.chroma_url)}" if settings.chroma_url
            else f"embedded Chroma at {settings.chroma_path}")


def open_store(settings: IndexSettings) -> PaperStore:
    """The configured collection, tied to the configured embedder."""
    return PaperStore(open_client(settings), settings.collection, embedder_name(settings), describe_location(settings),
                      settings.sparse_path)


def _reaching_the_server(method):
    """A Chroma server that went away mid-session becomes one line naming it, not an httpx traceback."""

    @functools.wraps(method)
    def call(self: PaperStore, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except httpx.TransportError as exc:
            raise UserError(f"cannot reach the {self.location} any more ({type(exc).__name__}); "
                            "start it again with `chroma run`, then retry") from exc

    return call


class PaperStore:
    """One Chroma collection of paper chunks, tied to the embedder that built it."""

    def __init__(self, client: ClientAPI, name: str, embedder: str, location: str, sparse_dir: Path):
        self.client = client
        self.name = name
        self.embedder = embedder
        self.location = location
        """Where the collection lives, for messages: "Chroma server http://…" or "embedded Chroma at …"."""
        self.sparse_dir = sparse_dir
        """The folder of the collection's BM25 index (:mod:`index.sparse`)."""
        self._collection = None

    @property
    @_reaching_the_server
    def collection(self):
        """The collection, created on first use; refuses one built by another embedder."""
        if self._collection is None:
            collection = self.client.get_or_create_collection(
                self.name,
                embedding_function=None,
                configuration={"hnsw": {"space": "cosine", "ef_search": EF_SEARCH}},
                metadata={"embedder": self.embedder},
            )
            hnsw = (collection.configuration_json or {}).get("hnsw") or {}
            if hnsw.get("ef_search", EF_SEARCH) < EF_SEARCH:  # an index built before EF_SEARCH was set
                collection.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
            built_with = (collection.metadata or {}).get("embedder")
            if built_with != self.embedder:
                raise EmbedderMismatch(
                    f"the index '{self.name}' was built with {built_with} but the configured embedder is "
                    f"{self.embedder}; run `paperchat ingest --rebuild` to rebuild it, or configure {built_with}")
            self._collection = collection
        return self._collection

    @_reaching_the_server
    def exists(self) -> bool:
        return self.name in {c.name for c in self.client.list_collections()}

    @_reaching_the_server
    def built_with(self) -> str | None:
        """The embedder recorded in an existing collection (None if there is none)."""
        if not self.exists():
            return None
        return (self.client.get_collection(self.name, embedding_function=None).metadata or {}).get("embedder")

    def as_built(self) -> PaperStore:
        """This collection opened with the embedder that built it: to report what it holds, whatever is configured."""
        return PaperStore(self.client, self.name, self.built_with() or self.embedder, self.location, self.sparse_dir)

    @_reaching_the_server
    def drop(self) -> None:
        if self.exists():
            self.client.delete_collection(self.name)
        self._collection = None

    def aside(self) -> PaperStore:
        """A new, empty collection under a temporary name, to build a replacement of this one in."""
        return PaperStore(self.client, f"{self.name}-rebuild-{secrets.token_hex(4)}", self.embedder, self.location,
                          self.sparse_dir)

    @_reaching_the_server
    def replace_with(self, built: PaperStore) -> None:
        """Make the complete collection ``built`` this one, then delete the old one.

        The old collection is renamed away before the new one takes its name (names are unique), so
        readers see no collection for the moment between two renames, never a half-built one.
        """
        old = None
        if self.exists():
            old = f"{self.name}-old-{secrets.token_hex(4)}"
            self.client.get_collection(self.name, embedding_function=None).modify(name=old)
        built.collection.modify(name=self.name)
        built.name = self.name
        self._collection = None
        if old:
            self.client.delete_collection(old)

    @_reaching_the_server
    def remove_leftovers(self) -> list[str]:
        """Delete what a killed rebuild left behind; returns the names deleted.

        A rebuild killed while building leaves ``<name>-rebuild-*``; killed between its two renames, it
        leaves ``<name>-old-*`` and no ``<name>``, and then the old collection is given its name back.
        """
        names = [c.name for c in self.client.list_collections()]
        olds = sorted(n for n in names if n.startswith(f"{self.name}-old-"))
        if self.name not in names and olds:
            self.client.get_collection(olds[0], embedding_function=None).modify(name=self.name)
            olds = olds[1:]
        leftovers = olds + [n for n in names if n.startswith(f"{self.name}-rebuild-")]
        for name in leftovers:
            self.client.delete_collection(name)
        self._collection = None
        return leftovers

    @_reaching_the_server
    def count(self) -> int:
        return self.collection.count()

    @_reaching_the_server
    def hashes(self, arxiv_ids: list[str]) -> dict[str, dict[str, str]]:
        """``{arxiv_id: {chunk_id: content_hash}}`` of the stored chunks of these versions."""
        out: dict[str, dict[str, str]] = {}
        if arxiv_ids:
            got = self.collection.get(where={"arxiv_id": {"$in": arxiv_ids}}, include=["metadatas"])
            for chunk_id, meta in zip(got["ids"], got["metadatas"]):
                out.setdefault(meta["arxiv_id"], {})[chunk_id] = meta["content_hash"]
        return out

    def all_chunks(self) -> list[StoredChunk]:
        """Every stored chunk with its text and metadata."""
        return list(self.iter_chunks())

    def iter_chunks(self) -> Iterator[StoredChunk]:
        """Every stored chunk with its text and metadata, read a page at a time.

        One unpaged read of 100k chunks fails in Chroma's SQLite ("too many SQL variables").
        """
        for offset in range(0, self.count(), self._page_size()):
            yield from self._page(offset)

    @_reaching_the_server
    def _page_size(self) -> int:
        return self.client.get_max_batch_size()

    @_reaching_the_server
    def _page(self, offset: int) -> list[StoredChunk]:
        got = self.collection.get(include=["documents", "metadatas"], limit=self._page_size(), offset=offset)
        return [StoredChunk(i, d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"])]

    @_reaching_the_server
    def metadatas(self, where: dict | None = None) -> list[dict]:
        return self.collection.get(where=where, include=["metadatas"])["metadatas"]

    @_reaching_the_server
    def upsert(self, chunks: list[Chunk], embeddings: list[list[float]]) -> None:
        """Write chunks, in as many requests as Chroma's largest batch requires."""
        nodes = [TextNode(id_=c.id, text=c.text, metadata=c.metadata) for c in chunks]
        size = self.client.get_max_batch_size()
        for start in range(0, len(chunks), size):
            part = slice(start, start + size)
            self.collection.upsert(
                ids=[c.id for c in chunks[part]],
                embeddings=embeddings[part],
                documents=[c.text for c in chunks[part]],
                metadatas=[node_to_metadata_dict(n, remove_text=True, flat_metadata=True) for n in nodes[part]],
            )

    @_reaching_the_server
    def delete(self, ids: list[str]) -> None:
        if ids:
            self.collection.delete(ids=ids)

    @_reaching_the_server
    def nearest(self, embedding: list[float], n: int, where: dict | None = None) -> list[tuple[str, float]]:
        """IDs of the ``n`` nearest chunks with their cosine similarity, for callers that hold the texts already."""
        got = self.collection.query(query_embeddings=[embedding], n_results=n, where=where, include=["distances"])
        return [(i, 1.0 - d) for i, d in zip(got["ids"][0], got["distances"][0])]

    @_reaching_the_server
    def query(self, embedding: list[float], n: int, where: dict | None = None) -> list[StoredChunk]:
        """The ``n`` nearest chunks; score is cosine similarity (1 - cosine distance)."""
        total = self.count()
        if total == 0:
            return []
        got = self.collection.query(query_embeddings=[embedding], n_results=min(n, total), where=where,
                                    include=["documents", "metadatas", "distances"])
        return [
            StoredChunk(id=i, text=doc, metadata=meta, score=1.0 - dist)
            for i, doc, meta, dist in zip(got["ids"][0], got["documents"][0], got["metadatas"][0], got["distances"][0])
        ]
