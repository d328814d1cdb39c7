"""Words as BM25 and the evidence scorer count them: one tokenizer for chunks at ingest and questions at query time."""

from __future__ import annotations

import re

import jieba
from bm25s.stopwords import STOPWORDS_EN_PLUS

_TOKEN_RE = re.compile(r"[a-z0-9]+(?:[.\-+][a-z0-9]+)*%?|[\u3400-\u9fff]+")
_STOPWORDS = set(
    "a an the of for to in on and or with by from is are was were be been this that these those which what "
    "how does do did it its as at about into using use used paper papers work works there any some than "
    "的 了 在 和 与 是 及 或 对 中 等 并 其 该 这 那 有 哪 哪些 什么 如何 怎么 吗 呢 篇 论文 研究 一种 通过".split()
)
TOKENIZER = f"1/jieba-{jieba.__version__}"
"""Recorded in the index: an index built by another tokenizer would not match the questions' tokens.
Bump the number whenever :func:`tokenize` changes."""
jieba.setLogLevel(60)


def tokenize(text: str) -> list[str]:
    """Lower-cased English terms (model names, numbers kept whole) and jieba words for Chinese.

    The same function tokenises chunks at ingest and questions at query time; the index records
    :data:`TOKENIZER` so a change here rebuilds it.
    """
    tokens = []
    for piece in _TOKEN_RE.findall(text.lower()):
        if "\u3400" <= piece[0] <= "\u9fff":
            tokens.extend(w for w in jieba.cut_for_search(piece) if w not in _STOPWORDS)
        elif piece not in _STOPWORDS:
            tokens.append(piece)
    return tokens


_QUERY_STOPWORDS = frozenset(STOPWORDS_EN_PLUS) | {"paper", "papers", "work", "works", "study", "studies", "method",
                                                   "approach", "propose", "proposes", "proposed", "use", "uses"}


def query_terms(question: str) -> list[str]:
    """:func:`tokenize` for a question searched with BM25, without English function words.

    One summary of the collection is written in English; every other is Chinese. In that one, English
    function words ("while", "still", "both", "which") are rare words, so BM25 gave them a high idf and an
    English question about any paper matched it first (the "hub" paper of docs/performance.md). Dropping
    them from the question only leaves the index as it is.
    """
    return [t for t in tokenize(question) if t not in _QUERY_STOPWORDS]
