"""Hybrid retrieval: dense (Chroma) and BM25, fused by reciprocal rank, one result per paper.

Dense search finds paraphrases and crosses languages (an English question, a
Chinese summary); BM25 catches exact terms the small embedder blurs: model
names, dataset names, numbers. Both rank *papers* (best chunk per base ID)
and reciprocal rank fusion merges the two lists, so neither score scale has
to be calibrated against the other.

Questions that name an arXiv ID skip the search and go straight to that paper.
A :class:`~assistant.scope.Scope` (the papers a user chose) limits both searches,
and the papers a question names, to the versions in scope.
An optional cross-encoder (llama-index's ``SentenceTransformerRerank``) reorders
the fused candidates when a model is configured; none is bundled.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from assistant.scope import Scope
from index.ids import find_arxiv_ids, parse_arxiv_id
from index.search import group_by_paper
from index.tokens import query_terms, tokenize
from index.sparse_sync import open_sparse
from index.store import PaperStore, StoredChunk

RRF_K = 10
CANDIDATE_CHUNKS = 80
MAX_CANDIDATE_CHUNKS = 320
CHUNKS_PER_CANDIDATE = 300
RERANK_CANDIDATES = 12
_ACRONYM_RE = re.compile(r"\b[A-Z][A-Z0-9]{1,9}\b")
__all__ = ["HybridRetriever", "PaperResult", "Retrieval", "candidate_count", "find_arxiv_ids", "tokenize"]


def candidate_count(chunks: int) -> int:
    """Chunks each of dense and BM25 hands to the fusion: 80, and more in a crowded collection.

    Among many similar papers the right one falls below the 80th chunk; more candidates bring it back for a
    few milliseconds (the needle benchmark, ``bench.needle``, in docs/performance.md).
    """
    return max(CANDIDATE_CHUNKS, min(MAX_CANDIDATE_CHUNKS, chunks // CHUNKS_PER_CANDIDATE))


@dataclass
class PaperResult:
    """One retrieved paper: all its matching chunks, across versions."""

    base_id: str
    score: float
    chunks: list[StoredChunk] = field(default_factory=list)
    """Matching chunks, best first (dense similarity, or BM25 order)."""
    versions: list[str] = field(default_factory=list)
    """Versioned IDs of the paper in the collection, oldest first."""

    @property
    def newest(self) -> str:
        return self.versions[-1]

    @property
    def title(self) -> str:
        return self.chunks[0].metadata["title"]

    def as_dict(self) -> dict:
        """What `paperchat search --json` prints: the paper, its fused score and its best-matching chunk."""
        best = self.chunks[0]
        return {"base_id": self.base_id, "arxiv_id": best.metadata["arxiv_id"], "title": self.title,
                "url": best.metadata["url"], "score": round(self.score, 4), "section": best.metadata["section"],
                "best_chunk": best.text, "versions": self.versions}


@dataclass
class Retrieval:
    papers: list[PaperResult]
    requested_ids: list[str] = field(default_factory=list)
    """IDs named in the question."""
    missing_ids: list[str] = field(default_factory=list)
    """Named IDs that are not in the collection."""
    outside_scope: list[str] = field(default_factory=list)
    """Named IDs that are in the collection but not in the question's scope (left out of the results)."""
    dense_top: float = 0.0
    """Best dense similarity of any chunk of the whole collection, scope or not: a weak value means the
    collection is off-topic (a scope chooses papers; it does not change what the collection is about)."""
    bm25_top: float = 0.0
    known_acronyms: list[str] = field(default_factory=list)
    """Acronyms of the question (DPO, CTC, ...) that occur in the collection: a sign it is on topic."""
    channels_agree: bool = True
    """Dense search and BM25 rank the same paper first (or only one of them ran)."""
    language: str = ""
    """The language most of the dense candidates are written in ("en", "zh"): what the collection answers in
    around this question."""

    def lead_with(self, base_id: str) -> None:
        """Move a paper to the top, with the top score: a judge preferred it (the evidence budget follows the
        scores)."""
        i = next(i for i, p in enumerate(self.papers) if p.base_id == base_id)
        self.papers[0].score, self.papers[i].score = self.papers[i].score, self.papers[0].score
        self.papers.insert(0, self.papers.pop(i))

    def unreachable(self, question: str, standalone: str) -> tuple[str, list[str]] | None:
        """Why the question cannot be answered from the papers it names, with their IDs; None when it can.

        ``not_in_collection``: every ID of the standalone question is missing from the collection.
        ``outside_scope``: every ID the user wrote in ``question`` is missing or outside the scope. IDs the
        rewrite of a follow-up brought in from the history are not the user's words: outside the scope they
        are ignored (the user chose other papers since), not refused.
        """
        if self.missing_ids and not set(find_arxiv_ids(standalone)) - set(self.missing_ids):
            return "not_in_collection", self.missing_ids
        asked = set(find_arxiv_ids(question))
        if self.outside_scope and asked and not asked - set(self.missing_ids + self.outside_scope):
            return "outside_scope", [i for i in self.outside_scope if i in asked]
        return None


class HybridRetriever:
    """Dense + BM25 over one collection, fused per paper.

    The BM25 index and the chunk catalogue live in the collection's sparse index
    (:mod:`index.sparse`), built at ingest time: creating a retriever opens it and
    holds nothing in memory that grows with the collection. Each query reads the
    index's current state, so papers another process ingests are found without a
    restart, by BM25 and by dense search alike.
    """

    def __init__(self, store: PaperStore, embed_model: BaseEmbedding, mode: str = "hybrid",
                 reranker_model: str | None = None, candidates: int | None = None):
        self.store = store
        self.embed_model = embed_model
        self.mode = mode
        self.reranker = None
        if reranker_model:
            from llama_index.core.postprocessor import SentenceTransformerRerank

            self.reranker = SentenceTransformerRerank(model=reranker_model, top_n=RERANK_CANDIDATES, device="cpu")
        self._last_query: tuple[str | None, list[float]] = (None, [])
        self.sparse = open_sparse(store)
        self.candidates = candidates or candidate_count(self.sparse.count())
        """Chunks each of dense and BM25 hands to the fusion (set from the collection's size at start)."""

    def paper_ids(self) -> list[str]:
        """Base IDs of every paper in the collection."""
        return self.sparse.paper_ids()

    def papers_with_text(self, text: str) -> set[str]:
        """Base IDs of the papers a chunk of which contains ``text`` (ignoring ASCII case): a scan of the
        catalogue, for a person's filter rather than per question."""
        return self.sparse.bases_containing(text)

    def term_weights(self, tokens: list[str]) -> dict[str, float]:
        """IDF of each token in this collection, in one read: rare terms say more about what a question asks;
        a token in no chunk weighs most."""
        chunks, df = self.sparse.document_frequencies(tokens)
        return {t: math.log(1 + chunks / df[t]) if t in df else math.log(1 + chunks) for t in tokens}

    def in_collection(self, terms: list[str]) -> list[str]:
        """The ``terms`` (lower-cased words) that some chunk holds as a word, not inside another ("paris" is
        not in "comparison")."""
        return list(self.sparse.document_frequencies(terms)[1]) if terms else []

    def chunk_similarities(self, question: str, arxiv_ids: list[str]) -> dict[str, float]:
        """Cosine similarity of the question to every chunk of the given versions (one Chroma query)."""
        if not arxiv_ids:
            return {}
        n = sum(len(self.chunks_of(i)) for i in arxiv_ids)
        where = {"arxiv_id": arxiv_ids[0]} if len(arxiv_ids) == 1 else {"arxiv_id": {"$in": list(arxiv_ids)}}
        return dict(self.store.nearest(self._vector(question), max(n, 1), where))

    def versions_of(self, base_id: str) -> list[str]:
        """The paper's versioned IDs in the collection, oldest first."""
        return self.sparse.versions_of(base_id)

    def chunks_of(self, arxiv_id: str) -> list[StoredChunk]:
        """One version's chunks in reading order."""
        return self.sparse.chunks_of(arxiv_id)

    def retrieve(self, question: str, k: int = 5, scope: Scope | None = None, search: str | None = None) -> Retrieval:
        """The ``k`` best papers for ``question``; named arXiv IDs come first.

        With a ``scope``, only its versions are searched and returned; a named ID outside it is reported
        in ``outside_scope`` and not fetched. With ``search`` (the question translated into the collection's
        language, assistant/translation.py), both searches look for that instead; named IDs, acronyms and how
        close the collection comes are still read from ``question``, so the off-topic thresholds keep the
        meaning they were measured with.
        """
        requested = find_arxiv_ids(question)
        missing = [i for i in requested if not self.versions_of(parse_arxiv_id(i)[1])]
        outside = [i for i in requested if i not in missing and scope is not None and not self._in_scope(i, scope)]
        named = list(dict.fromkeys(parse_arxiv_id(i)[1] for i in requested if i not in missing + outside))

        searched = search or question
        dense = self._dense(searched, scope) if self.mode in ("hybrid", "dense") else []
        sparse = self._sparse(searched, scope) if self.mode in ("hybrid", "bm25") else []
        firsts = {ranked[0].base_id for ranked in (group_by_paper(dense), group_by_paper(sparse)) if ranked}
        languages = Counter(c.metadata.get("language", "") for c in dense)
        fused: dict[str, float] = {}
        chunk_rank: dict[str, float] = {}
        by_paper: dict[str, dict[str, StoredChunk]] = {}
        for ranked in (dense, sparse):
            for rank, hit in enumerate(group_by_paper(ranked), start=1):
                fused[hit.base_id] = fused.get(hit.base_id, 0.0) + 1.0 / (RRF_K + rank)
            for rank, chunk in enumerate(ranked, start=1):
                chunk_rank[chunk.id] = chunk_rank.get(chunk.id, 0.0) + 1.0 / (RRF_K + rank)
                # Keep the dense copy: its score is a cosine similarity, comparable across questions.
                by_paper.setdefault(chunk.metadata["base_id"], {}).setdefault(chunk.id, chunk)
        order = sorted(fused, key=fused.get, reverse=True)
        if self.reranker is not None:
            order = self._rerank(question, order[:RERANK_CANDIDATES], by_paper, chunk_rank) + order[RERANK_CANDIDATES:]
        for base in reversed(named):
            if base in order:
                order.remove(base)
            order.insert(0, base)
            slot = by_paper.setdefault(base, {})
            for arxiv_id in self._versions(base, scope):
                for chunk in self.chunks_of(arxiv_id):
                    slot.setdefault(chunk.id, chunk)
        papers = [
            PaperResult(base, 1.0 if base in named else fused[base],
                        sorted(by_paper[base].values(), key=lambda c: -chunk_rank.get(c.id, 0.0)),
                        self._versions(base, scope))
            for base in order[:k]
        ]
        acronyms = list(dict.fromkeys(_ACRONYM_RE.findall(question)))
        known = self.sparse.document_frequencies([a.lower() for a in acronyms])[1]
        acronyms = [a for a in acronyms if a.lower() in known]
        if scope is not None or search:  # how close the collection comes, for the off-topic check: one chunk each
            dense = self._nearest(question, n=1) if self.mode in ("hybrid", "dense") else []
            sparse = self.sparse.search(query_terms(question), 1) if self.mode in ("hybrid", "bm25") else []
        return Retrieval(papers, requested, missing, outside, dense_top=dense[0].score if dense else 0.0,
                         bm25_top=sparse[0].score if sparse else 0.0, known_acronyms=acronyms,
                         channels_agree=len(firsts) < 2,
                         language=languages.most_common(1)[0][0] if languages else "")

    def _in_scope(self, arxiv_id: str, scope: Scope) -> bool:
        """A named versioned ID must be in scope; a named base ID needs one of its versions there."""
        versioned, base, _ = parse_arxiv_id(arxiv_id)
        return versioned in scope if "v" in arxiv_id.lower() else base in scope.base_ids

    def _versions(self, base_id: str, scope: Scope | None) -> list[str]:
        """The paper's versions a question may use: all of them, or those in its scope."""
        versions = self.versions_of(base_id)
        return versions if scope is None else scope.versions(versions)

    def _rerank(self, question: str, bases: list[str], by_paper: dict[str, dict[str, StoredChunk]],
                chunk_rank: dict[str, float]) -> list[str]:
        """Reorder papers by the cross-encoder's score of (question, title + best chunk)."""
        nodes = []
        for base in bases:
            best = max(by_paper[base].values(), key=lambda c: chunk_rank.get(c.id, 0.0))
            nodes.append(NodeWithScore(node=TextNode(id_=base, text=f"{best.metadata['title']}\n{best.text}")))
        reranked = self.reranker.postprocess_nodes(nodes, query_bundle=QueryBundle(question))
        return [n.node.node_id for n in reranked]

    def ranked_chunks_of(self, arxiv_id: str, question: str) -> list[StoredChunk]:
        """One version's chunks, nearest to the question first (for named papers and version questions)."""
        return self._nearest(question, where={"arxiv_id": arxiv_id})

    def _vector(self, question: str) -> list[float]:
        # The evidence step asks again for the question just retrieved: embed it once. One read of the
        # tuple, so a concurrent question cannot hand back another question's vector.
        cached_question, cached_vector = self._last_query
        if cached_question == question:
            return cached_vector
        vector = self.embed_model.get_query_embedding(question)
        self._last_query = (question, vector)
        return vector

    def _dense(self, question: str, scope: Scope | None = None) -> list[StoredChunk]:
        return self._nearest(question, where=scope.where() if scope is not None else None)

    def _nearest(self, question: str, where: dict | None = None, n: int | None = None) -> list[StoredChunk]:
        """The chunks nearest to the question, scored by cosine similarity.

        Chroma returns only ids and distances; the texts and metadata come from the sparse index's
        catalogue (shipping them from Chroma cost several times the search itself, docs/performance.md).
        A chunk whose vector is written but whose catalogue entry is not yet (an ingest between its
        two writes) is left out.
        """
        count = self.sparse.count()
        if not count:
            return []
        hits = self.store.nearest(self._vector(question), min(n or self.candidates, count), where)
        known = self.sparse.chunks_by_id([i for i, _ in hits])
        return [StoredChunk(i, known[i].text, known[i].metadata, score) for i, score in hits if i in known]

    def _sparse(self, question: str, scope: Scope | None = None) -> list[StoredChunk]:
        return self.sparse.search(query_terms(question), self.candidates,
                                  scope.arxiv_ids if scope is not None else None)

