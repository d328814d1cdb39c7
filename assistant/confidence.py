"""The low-evidence notice: a visible warning when an answer stands on weak evidence.

Two signs, either one enough:

* the best source matches the question only loosely: the highest e5 similarity
  of the (standalone) question to any chunk of the versions shown is below the
  question language's threshold (``Settings.low_evidence_score_en`` / ``_zh``;
  e5 scores Chinese questions higher, as for the off-topic check). The
  thresholds were chosen on the development set ("Low-evidence threshold" in
  docs/performance.md);
* only part of what the model wrote is supported: a sentence is shown marked
  unsupported, or was removed as unsupported.

An abstention carries no notice: it already says the collection does not answer.
"""

from __future__ import annotations

from assistant import prompts
from assistant.answer import Answer
from assistant.retrieval import HybridRetriever
from index.corpus import detect_language


def evidence_score(retriever: HybridRetriever, question: str, arxiv_ids: list[str]) -> float | None:
    """Best e5 similarity of ``question`` to a chunk of these versions (None without any)."""
    return max(retriever.chunk_similarities(question, list(dict.fromkeys(arxiv_ids))).values(), default=None)


def low_evidence_threshold(settings, question: str) -> float:
    """The threshold for ``question``'s language."""
    return settings.low_evidence_score_zh if detect_language(question) == "zh" else settings.low_evidence_score_en


def flag_low_evidence(answer: Answer, retriever: HybridRetriever, settings, language: str) -> None:
    """Set ``answer.evidence_score`` and ``low_evidence``, and add the notice (in ``language``) when it is low."""
    if answer.abstained or not answer.sources:
        return
    answer.evidence_score = evidence_score(retriever, answer.standalone_question,
                                           [s.arxiv_id for s in answer.sources])
    written = [s for s in answer.sentences if s.text not in answer.key_sentences]  # what the model wrote, repaired
    total = len(written) + len(answer.dropped)
    supported = sum(s.supported for s in written)
    # A list of the papers holding a name the question asks about is exact however loosely e5 matches the
    # question ("Which papers use Whisper?" is three words to it).
    if answer.evidence_score is not None and not answer.listed and \
            answer.evidence_score < low_evidence_threshold(settings, answer.standalone_question):
        notice = prompts.LOW_EVIDENCE_SCORE[language]
    elif supported < total and not answer.quoted:  # a quoted answer is the evidence's words, none the model's
        notice = prompts.LOW_EVIDENCE_PARTIAL[language].format(supported=supported, total=total)
    else:
        return
    answer.low_evidence = True
    answer.notices.append(notice)
