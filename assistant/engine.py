"""The answer engine: question (+ chat so far) in, streamed cited answer out.

    condense follow-up → retrieve (hybrid, versions grouped) → select evidence
    → generate (LLM backend, or extractive) → normalise citations → check support

:meth:`Assistant.stream` yields :class:`SourcesReady` as soon as retrieval is
done, then :class:`TextDelta` pieces, then :class:`AnswerDone` with the
verified answer. The CLI, the chat UI and the evals all use it.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterator
from dataclasses import replace

from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.llms import LLM, ChatMessage

from assistant import confidence, prompts
from assistant import versions as version_diff
from assistant.answer import Answer, AnswerDone, SentenceVerdict, Source, SourcesReady, TextDelta
from assistant.backends import backend_location, load_llm
from assistant.citations import Citation, normalize_citations, sentence_citations, split_answer_sentences, \
    strip_citations
from assistant.answerability import (ASKS_NUMBER_RE, EXTRA_PAPER_MIN_YES, answerability, judged_sought, on_topic,
                                     paper_sought, specific_terms)
from assistant.evidence import select_evidence
from assistant.lexical import checkable_items
from assistant.listing import grouped_by_paper, listed_names, listing_answer, named_sources
from assistant.asked import a_title_answers, asked_aspect, asking_parts, asks_a_name, asks_each, asks_for_papers, \
    asks_for_the_paper, asks_which_work, counted_not_listed, is_multi_part, names_given, names_paper, new_names, \
    mentions_aspect, seeks_a_paper, unstated_parts
from assistant.followup import is_follow_up, reads_as_question, switches_to
from assistant.draft import EXTRACTIVE_SCORE_RATIO, annotate, drop_repeats, drop_restatements, extractive_answer, \
    idle_citations_removed, in_another_language, is_filler, is_refusal, key_quote, mend_titles, name_the_work, \
    one_title_a_line, quoted_answer, remove_sentence, strip_echo, title_quotes, titles_after_the_first, without_titles
from assistant.retrieval import HybridRetriever, Retrieval
from assistant.scope import Scope, Versions, resolve_scope
from assistant.settings import Settings
from assistant.translation import QuestionTranslator
from assistant.support import CascadeJudge, EmbeddingJudge, LexicalJudge, LLMJudge, evidence_of, quoted_position
from index.corpus import detect_language
from index.ids import find_arxiv_ids
from index.embedders import load_embedder
from index.errors import UserError
from index.ingest import require_index
from index.redact import redact
from index.store import PaperStore, open_store

_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Assistant:
    """Answers questions from the indexed evidence only, citing versioned arXiv IDs."""

    def __init__(self, settings: Settings, store: PaperStore | None = None, embed_model: BaseEmbedding | None = None,
                 llm: LLM | None = None):
        self.settings = settings
        self.store = store or open_store(settings)
        require_index(self.store)
        self.embed_model = embed_model or load_embedder(settings)
        self.retriever = HybridRetriever(self.store, self.embed_model, settings.retrieval, settings.reranker_model)
        self.llm = llm if llm is not None else load_llm(settings)
        # The model reads meaning across languages where e5 similarity cannot (an English sentence restating
        # Chinese evidence); it judges in a context of its own so the answer prompt's cache survives.
        self.judge_llm = (self.llm.sibling(JUDGE_CONTEXT) if settings.judge == "llm" and hasattr(self.llm, "sibling")
                          else None)
        self.paper_count = len(self.retriever.paper_ids())

    @functools.cached_property
    def topic_llm(self):
        """The model for the topic check of "Is there a paper on X?" (assistant/answerability.py): it needs
        log-probabilities, so the bundled model only, in a context of its own. Made on first use: a context
        takes 1-4 s to create, and most processes never ask such a question in the doubtful band (two threads
        racing here get two handles on the same cached context)."""
        if not (hasattr(self.llm, "yes_probability") and hasattr(self.llm, "sibling")):
            return None
        return self.judge_llm or self.llm.sibling(JUDGE_CONTEXT)

    @property
    def topic_checks(self) -> bool:
        """Can the topic check be asked? A model with log-probabilities, and the setting not 0."""
        return (self.settings.topic_check_margin > 0 or self.settings.topic_check_below > 0) \
            and self.topic_llm is not None

    @functools.cached_property
    def translator(self) -> QuestionTranslator | None:
        """Translates a question for retrieval when dense search and BM25 disagree on it
        (assistant/translation.py): the bundled model, in the topic check's context; None when
        ``search_translation`` is off or for another backend (measured with the bundled model only)."""
        return QuestionTranslator(self.topic_llm) if self.settings.search_translation and self.topic_llm else None

    def ask(self, question: str, history: list[dict] | None = None, language: str | None = None,
            top_k: int | None = None, papers: list[str] | None = None, versions: Versions = "newest") -> Answer:
        """The whole answer at once (the last event of :meth:`stream`)."""
        for event in self.stream(question, history, language, top_k, papers, versions):
            if isinstance(event, AnswerDone):
                return event.answer
        raise AssertionError("stream ended without an answer")

    def stream(self, question: str, history: list[dict] | None = None, language: str | None = None,
               top_k: int | None = None, papers: list[str] | None = None,
               versions: Versions = "newest") -> Iterator[SourcesReady | TextDelta | AnswerDone]:
        """Answer ``question`` given the chat so far.

        Args:
            question: the user's message.
            history: earlier ``{"role", "content"}`` messages; a follow-up is rewritten with them.
            language: ``"en"`` or ``"zh"`` for the answer; None follows the question's language.
            top_k: papers whose evidence is shown to the model (default: ``Settings.top_k``).
            papers: arXiv IDs (base or versioned) to answer from, and only from (assistant/scope.py); None: all.
                A follow-up stays in the scope it is given. An ID not in the collection is a ScopeError.
            versions: what a base ID of ``papers`` means: its ``newest`` version or ``all`` of them.

        Yields:
            SourcesReady once retrieval is done, TextDelta pieces, then AnswerDone.
        """
        started = time.perf_counter()
        scope = self.scope(papers, versions) if papers is not None else None
        question, notices = self._clean(question)
        language = language or detect_language(question)
        standalone = self.condense(question, self._bounded(history or []))
        retrieval = self.retriever.retrieve(standalone, k=top_k or self.settings.top_k, scope=scope)
        timings = {"retrieval": _ms(started)}
        searched_as: str | None = None
        dropped: list[SentenceVerdict] = []

        def finish(text: str, reason: str | None, sources: list[Source], **extra) -> AnswerDone:
            answer = Answer(question, standalone, text, reason is not None, abstention_reason=reason, sources=sources,
                            notices=notices, timings_ms=timings, dropped=dropped,
                            scope=list(scope.arxiv_ids) if scope else [], searched_as=searched_as, **extra)
            confidence.flag_low_evidence(answer, self.retriever, self.settings, language)
            timings["total"] = _ms(started)
            return AnswerDone(answer)

        closest = _closest([(p.title, p.newest) for p in retrieval.papers], language)
        unreachable = retrieval.unreachable(question, standalone)
        if unreachable:
            reason, ids = unreachable
            yield SourcesReady([])
            message = prompts.NOT_IN_COLLECTION if reason == "not_in_collection" else prompts.NOT_IN_SCOPE
            text = message[language].format(ids=", ".join(ids))
            yield TextDelta(text)
            yield finish(f"{text} {closest}", reason, [])
            return
        min_dense = self.settings.min_dense_score_zh if detect_language(question) == "zh" else \
            self.settings.min_dense_score_en
        # A name the collection holds ("Which papers use Whisper?") is on topic however short the question: one
        # rare word gives neither e5 nor BM25 enough to pass their thresholds.
        if (not retrieval.requested_ids and not retrieval.known_acronyms and retrieval.dense_top < min_dense
                and retrieval.bm25_top < self.settings.min_bm25_score
                and not self.retriever.in_collection(specific_terms(standalone, capitalised=True))):
            yield SourcesReady([])
            topic = self.settings.topic_zh if language == "zh" else self.settings.topic
            text = prompts.OFF_TOPIC[language].format(
                count=self.paper_count, topic=prompts.TOPIC[language].format(topic=topic) if topic else "")
            yield TextDelta(text)
            yield finish(f"{text} {closest}", "off_topic", [])
            return
        sources, names = named_sources(standalone, asked, retrieval, self.retriever, scope) \
            if (asked := listed_names(standalone, retrieval)) else ([], [])
        if sources:
            # "Which papers use Whisper?": every paper whose summary says it, quoted (assistant/listing.py); the
            # ranking only orders them, so the question is not translated for it.
            timings["evidence"] = _ms(started)
            yield SourcesReady(sources)
            text, opening = listing_answer(sources, names, language)
            yield TextDelta(text)
            verdicts = self.verify(text, sources, [opening])
            cited = list(dict.fromkeys(c for v in verdicts for c in v.citations))
            yield finish(text, None, sources, sentences=verdicts, quoted=True, listed=names,
                         citations=[Citation.of(c, supported=all(v.supported for v in verdicts if c in v.citations))
                                    for c in cited])
            return
        searched_as = self.translator.search_for(standalone, retrieval) if self.translator else None
        if searched_as:
            # Dense search and BM25 disagree on a question in another language than the papers: search its
            # translation instead (assistant/translation.py). After the off-topic check, which reads the
            # question's own scores: an off-topic question never waits for a translation.
            timings["translation"] = _ms(started)
            notices.append(prompts.SEARCHED_AS[language].format(search=searched_as))
            retrieval = self.retriever.retrieve(standalone, k=top_k or self.settings.top_k, scope=scope,
                                                search=searched_as)
            timings["retrieval"] = _ms(started)

        top = retrieval.papers[0] if retrieval.papers else None
        if top and len(top.versions) > 1 and version_diff.is_comparison(standalone):
            # What differs between versions is computed, not generated: small models swap the numbers.
            comparison = version_diff.compare(top, self.retriever, standalone)
            composed, framing = version_diff.compose(comparison, language)
            sources, deltas = comparison.sources, iter([composed])
        else:
            sources = select_evidence(retrieval, self.retriever, standalone, self.settings.evidence_tokens)
            deltas, framing = None, []
        sought, judged = None, False
        if deltas is None and sources and not retrieval.requested_ids and seeks_a_paper(standalone):
            # "Is there a paper on X?": is there, and which is it (assistant/answerability.py)
            sought, judged = paper_sought(standalone, sources, retrieval, self.retriever, self.settings,
                                          self.topic_llm)
            if judged:
                timings["topic_check"] = _ms(started)
            sources = self._led_by(sought, sources, retrieval, standalone)
        timings["evidence"] = _ms(started)
        yield SourcesReady(sources)
        if sought == "":
            yield finish(self._abstention(sources, language, prompts.NO_SUCH_PAPER), "no_answer", sources)
            return
        each = [s for s in sources if any(i.startswith(s.base_id) for i in retrieval.requested_ids)] \
            if asks_each(question) else []
        # "它们各自把词错误率降到了多少？" of two papers just listed: stated by either, it is not left open.
        stating = [x for s in (each if len(each) > 1 else sources[:1]) for x in s.sentences]
        unstated = unstated_parts(standalone, stating) if deltas is None and sources else []
        if unstated:
            # "OpusLM 支持多少种语言？" finds OpusLM, whose summary has numbers but not that one: whatever the
            # model writes (a quote, a nearby figure) would not answer. Another part of the question still may,
            # and the user is told which part the papers leave open.
            if len(unstated) >= len(asking_parts(standalone)):  # "In X, how much …?": one part asks
                yield finish(self._abstention(sources, language, prompts.NOT_STATED), "no_answer", sources)
                return
            notices.append(prompts.NOT_STATED_PART[language].format(part=unstated[0]))
        if deltas is None and sources and asks_a_name(standalone) and not is_multi_part(standalone) \
                and not names_given(sources[0].sentences, standalone, sources[0].title):
            # "Which specific LLM does X use?" and X's summary names none: the model restates the question
            # ("X uses an LLM to …"), which the check rightly finds supported, and it answers nothing.
            yield finish(self._abstention(sources, language, prompts.NAME_NOT_STATED), "no_answer", sources)
            return
        if deltas is None and sources and (aspect := asked_aspect(standalone)) and not mentions_aspect(aspect, " ".join(
                self._paper_text(v) for v in sources[0].versions or [sources[0].arxiv_id])):
            # "Has X's code been released?" of a summary that never mentions code or release: the model says what
            # X does, true and supported, and no answer.
            yield finish(self._abstention(sources, language, prompts.ASPECT_NOT_STATED[aspect]), "no_answer",
                         sources)
            return
        if deltas is None and sources and not is_multi_part(standalone) \
                and (counted := counted_not_listed(standalone, sources[0].sentences)):
            # "What compression modes does X offer?" of a summary saying only "包含三种模式": the model was seen
            # giving the title's words as the modes.
            opening = {lang: text.format(counted=counted) for lang, text in prompts.MEMBERS_NOT_NAMED.items()}
            yield finish(self._abstention(sources, language, opening), "no_answer", sources)
            return
        if self.llm is None and deltas is None and not self.answerable(standalone, sources, retrieval):
            # Without a model nothing else can tell that the paper found does not give the fact asked.
            yield finish(self._abstention(sources, language), "no_answer", sources)
            return

        raw = ""
        for delta in deltas or self._generate(standalone, language, sources):
            if "first_token" not in timings:
                timings["first_token"] = _ms(started)
            raw += delta
            yield TextDelta(delta)

        may_quote = None  # does the evidence answer the question? Asked only when a draft needs repair
        if deltas is not None:  # a composed version answer quotes the text; nothing to repair
            text, cited, rejected = normalize_citations(raw.strip(), [s.arxiv_id for s in sources])
            verdicts = self.verify(text, sources, framing)
        elif prompts.NO_ANSWER in raw or is_refusal(raw) or (not (said := self._said(raw, sources, standalone))[0]
                                                             and (seeks_a_paper(standalone) or asks_which_work(standalone))):
            # "没有关于X的论文。" is the model's NO_ANSWER in its own words; "是的，有关于X的论文。" and nothing
            # else (the question said back) answers "Is there a paper on X?" no more than a refusal.
            raw = prompts.NO_ANSWER
            text, cited, rejected, verdicts = "", [], [], []
        else:
            text, cited, rejected = said
            # The extractive answer lists Chinese evidence under English framing by design; only a model's
            # sentences are read for words in the other language.
            verdicts = [replace(v, supported=False, method="language") if v.supported and self.llm is not None and
                        in_another_language(v.text, language) else v for v in self.verify(text, sources, framing)]
            off = self.off_question_titles(standalone, verdicts) + attributed_elsewhere(standalone, verdicts, sources)
            off += [v for v in self.off_question_claims(standalone, verdicts, sources) if v not in off]
            after_first = titles_after_the_first(standalone, [v for v in verdicts if v not in off])
            after_first += self.off_topic_papers(standalone, sought, sources,
                                                 [v for v in verdicts if v not in off + after_first])
            after_first += self.names_from_elsewhere(standalone, retrieval, sources,
                                                     [v for v in verdicts if v not in off + after_first])
            for verdict in off + after_first:
                text = remove_sentence(text, verdict.text)
            verdicts = [v for v in verdicts if v not in off + after_first]
            # The topic check accepting the paper "Is there a paper on X?" seeks is as good a sign as terms found:
            # "an LLM predicts EQ settings" over a summary that writes 均衡 was refused with its paper first.
            may_quote = bool(sources) and (bool(judged and sought) or self.answerable(standalone, sources, retrieval))
            text, verdicts, dropped[:] = self.repair(text, verdicts, sources, may_quote)
            text, verdicts = idle_citations_removed(text, verdicts, sources)
            dropped += off
            if dropped:
                notices.append(prompts.DROPPED[language].format(count=len(dropped)))
        timings["verification"] = _ms(started)
        titles = {s.arxiv_id: s.title for s in sources}
        if not any(v.supported and _answers(v, standalone, titles) for v in verdicts):
            reason = "no_answer" if prompts.NO_ANSWER in raw else "unsupported"
            if sought and not judged and self.topic_checks:
                # "Is there a paper on X?" whose paper e5 alone accepted, and the model wrote nothing that
                # answers: the judge settles it, and only its acceptance is quoted, never e5's ("The judge when
                # the model refuses" in docs/performance.md). Without it, a question whose paper retrieval
                # missed got a neighbour quoted.
                sought, judged = judged_sought(standalone, sources, self.retriever, self.settings,
                                               self.topic_llm), True
                timings["topic_check"] = _ms(started)
                sources = self._led_by(sought, sources, retrieval, standalone)
                may_quote = bool(sought)
            if may_quote is None:  # the model refused: overruled only on positive signs the evidence answers
                # (a number or a term asked that the evidence holds). Also overruling "Is there a paper on X?"
                # refusals when the top paper matches closely was tried: on the held-out set it only turned two
                # right refusals into quotes (docs/performance.md, "No such paper").
                # Or when the topic check judged the paper leading the evidence to be the one "Is there a paper
                # on X?" looks for: the model missed what the judge saw ("A topic check below the threshold").
                asks_terms = bool(ASKS_NUMBER_RE.search(standalone) or specific_terms(standalone))
                may_quote = bool(sources) and (bool(judged and sought) or
                                               asks_terms and self.answerable(standalone, sources, retrieval))
            if may_quote:
                # The model refused or wrote nothing the evidence supports, yet the evidence answers:
                # quote it, labelled as quoted, rather than refuse.
                # "它们各自…" about the papers just listed: each of them, not only the first.
                # Said why: a sentence failed the check, or the model refused or wrote only what does not answer.
                failed = any(not v.supported for v in verdicts + dropped)
                intro = prompts.QUOTED_INTRO if failed else prompts.QUOTED_INTRO_REFUSED
                named = [s for s in sources if any(i.startswith(s.base_id) for i in retrieval.requested_ids)]
                if asks_each(question) and len(named) > 1:
                    text = quoted_answer(named + [s for s in sources if s not in named], language, standalone,
                                         min(len(named), 4), intro)
                elif asks_for_papers(standalone):  # "Which papers …?": each paper close to the best, not one
                    best = sources[0].score
                    close = sum(s.score >= EXTRACTIVE_SCORE_RATIO * best for s in sources)
                    text = quoted_answer(sources, language, standalone, min(max(close, 1), 4), intro)
                else:
                    text = quoted_answer(sources, language, standalone, intro=intro)
                notices[:] = [n for n in notices if n != prompts.DROPPED[language].format(count=len(dropped))]
                verdicts = self.verify(text, sources, [intro[language]])
                cited = list(dict.fromkeys(c for v in verdicts for c in v.citations))
                yield finish(text, None, sources, rejected_citations=rejected, sentences=verdicts, quoted=True,
                             citations=[Citation.of(c, supported=True) for c in cited])
                return
            if sought == "":  # the judge found no paper on the topic among the top two
                reason, opening = "no_answer", prompts.NO_SUCH_PAPER
            else:
                opening = prompts.UNSUPPORTED if reason == "unsupported" else prompts.ABSTAIN
            yield finish(self._abstention(sources, language, opening), reason, sources,
                         rejected_citations=rejected, sentences=verdicts)
            return
        added: list[SentenceVerdict] = []
        if deltas is None and self.llm is not None:
            text, named = name_the_work(standalone, text, verdicts, sources)
            text, added = title_quotes(text, verdicts, sources, language, standalone)
            # A list of titles has a quote under each: the top paper gets no second one.
            text, keys = key_quote(standalone, text, sources, language, verdicts, count=1 if added else 2)
            added += [named] if named else []
            added += [SentenceVerdict(key, [sources[0].arxiv_id], True, "quoted",
                                      evidence_of(strip_citations(key), sources[:1], "quoted")) for key in keys]
            verdicts += added
        # Only what the text still cites: a citation of a sentence removed (unsupported, or a title off the
        # question) is not listed, and would have counted as supported (no verdict left against it).
        cited = [c for c in dict.fromkeys(cited + [c for v in verdicts for c in v.citations]) if f"arXiv:{c}]" in text]
        supported = {c: all(v.supported for v in verdicts if c in v.citations) for c in cited}
        text = annotate(text, verdicts)
        if deltas is None and asks_for_papers(standalone):
            text = grouped_by_paper(text, sources)  # each paper's quote under its own line
        yield finish(text, None, sources, rejected_citations=rejected, sentences=verdicts,
                     citations=[Citation.of(c, supported=supported[c]) for c in cited],
                     key_sentences=[v.text for v in added])

    @staticmethod
    def _said(raw: str, sources: list[Source], question: str) -> tuple[str, list[str], list[str]]:
        """What of the model's draft is its answer: citations normalised, the copied evidence block, repeats and
        sentences that say the question back taken out, titles one a line. Returns the text, the IDs cited
        and the citations rejected (assistant/citations.py)."""
        text, cited, rejected = normalize_citations(strip_echo(raw, sources).strip(), [s.arxiv_id for s in sources])
        return drop_restatements(mend_titles(one_title_a_line(drop_repeats(text), sources), sources), question,
                                 sources), cited, rejected

    def repair(self, text: str, verdicts: list[SentenceVerdict], sources: list[Source],
               may_quote: bool = True) -> tuple[str, list[SentenceVerdict], list[SentenceVerdict]]:
        """Replace each unsupported sentence by the evidence sentence it restates, or drop it.

        A small model often paraphrases the right sentence but swaps a number or adds a name; the evidence
        sentence it was closest to (e5 similarity ≥ :data:`QUOTE_SIMILARITY`, among the sources it cited, or
        all sources when it cited none) is shown instead, quoted and labelled. A sentence close to no evidence
        is removed, never shown unmarked; so is every unsupported sentence when ``may_quote`` is False (the
        evidence does not give what was asked: a quote would answer a question the collection cannot).
        Returns the text, the verdicts kept and the verdicts dropped.
        """
        by_id = {s.arxiv_id: s for s in sources}
        judge = self._embedding_judge()
        kept, dropped = [], []
        for verdict in verdicts:
            if verdict.supported:
                kept.append(verdict)
                continue
            # Quote only papers that lead the ranking: a failed sentence that cited a trailing paper is
            # usually the right claim on the wrong paper, and its nearest sentence there answers nothing.
            leading = [s for s in sources if s.score >= LEADING_SCORE_RATIO * sources[0].score]
            pool = [by_id[c] for c in verdict.citations if c in by_id and by_id[c] in leading] or (
                leading if not verdict.citations else [])
            candidates = [(source, sentence) for source in pool for sentence in source.sentences]
            claim = strip_citations(verdict.text).replace(prompts.UNSUPPORTED_MARK.strip(), "").strip()
            scored = [(judge.similarity(claim, [sentence]), source, sentence) for source, sentence in candidates]
            best = max(scored, key=lambda item: item[0], default=None)
            quote = None
            if may_quote and best and best[0] >= QUOTE_SIMILARITY:
                _, source, sentence = best
                quote = f"“{sentence}” {prompts.QUOTE_MARK[detect_language(claim)]} [arXiv:{source.arxiv_id}]"
            if quote and not any(k.text == quote for k in kept):  # two claims near one sentence: quote it once
                text = text.replace(verdict.text, quote, 1)
                kept.append(SentenceVerdict(quote, [source.arxiv_id], True, "quoted",
                                            [{"arxiv_id": source.arxiv_id, "index": source.sentences.index(sentence)}]))
            else:
                text = remove_sentence(text, verdict.text)
                dropped.append(verdict)
        return text, kept, dropped

    def _embedding_judge(self) -> EmbeddingJudge:
        """One e5 judge for the Assistant's life: evidence sentences recur across questions, embed each once.

        Its cache is bounded: past :data:`EMBEDDING_CACHE` sentences it starts again.
        """
        if getattr(self, "_e5_judge", None) is None or len(self._e5_judge._vectors) > EMBEDDING_CACHE:
            self._e5_judge = EmbeddingJudge(self.embed_model)
        return self._e5_judge

    def scope(self, papers: list[str], versions: Versions = "newest") -> Scope:
        """The versions ``papers`` name in this collection (assistant/scope.py); a ScopeError says what is wrong."""
        return resolve_scope(papers, self.retriever.versions_of, versions)

    def answerable(self, question: str, sources: list[Source], retrieval) -> bool:
        """Does the evidence shown state what the question asks? Decides between a quoted answer and abstaining."""
        texts = {p.base_id: " ".join([p.title] + [c.text for v in p.versions for c in self.retriever.chunks_of(v)])
                 for p in retrieval.papers}
        return answerability(question, sources, texts) >= MIN_ANSWERABILITY

    def verify(self, text: str, sources: list[Source], framing: list[str] = ()) -> list[SentenceVerdict]:
        """A support verdict for each sentence of ``text`` against the evidence it cites.

        ``framing`` lines (headings of a composed answer) state nothing about the papers and are not checked.
        """
        by_id = {s.arxiv_id: s for s in sources}
        judges = [LexicalJudge()] + ([LLMJudge(self.judge_llm)] if self.judge_llm is not None else [])
        judge = CascadeJudge(judges + [self._embedding_judge()])
        verdicts = []
        carried: list[str] = []
        for sentence in split_answer_sentences(text):
            cited = [c for c in sentence_citations(sentence) if c in by_id]
            claim = strip_citations(sentence).strip()
            if any(sentence in line for line in framing):
                continue
            if is_filler(claim):
                # "是的，有。[arXiv:…] OpusLM 提供了…": the citation belongs to the claim that follows.
                carried += cited
                continue
            cited, carried = list(dict.fromkeys(cited or carried)), []
            if not cited:
                named = [s.arxiv_id for s in sources if not without_titles(claim, [s.title])]
                if named:  # the rest of a title split at its "?": it names a paper, it states nothing
                    verdicts.append(SentenceVerdict(sentence, named[:1], True, "title"))
                elif not claim.endswith((":", "：")):
                    verdicts.append(self._attribute(sentence, claim, sources, judge))
                continue
            # The model saw each paper's title with its sentences: both are evidence. A cited title inside the
            # claim only names the paper ("[arXiv:X] <title> uses ..."); its words must not vouch for the rest.
            evidence = [x for c in cited for x in (by_id[c].title, *by_id[c].sentences)]
            judged = without_titles(claim, [by_id[c].title for c in cited])
            if not judged:
                supported, method = True, "title"
            elif quoted_position(judged, evidence) is not None:
                supported, method = True, "quoted"  # the evidence itself: nothing to judge
            else:
                supported, method = judge.decide(judged, evidence)
            found = evidence_of(judged, [by_id[c] for c in cited], method, judge) if supported else []
            verdicts.append(SentenceVerdict(sentence, cited, bool(supported), method, found))
        return verdicts

    def off_question_titles(self, question: str, verdicts: list[SentenceVerdict]) -> list[SentenceVerdict]:
        """Bare titles of papers whose summaries hold none of the question's specific terms.

        Asked "Which papers evaluate on LibriSpeech?", the bundled model lists the titles it was shown, and a
        title is its own evidence; a paper that never names LibriSpeech does not answer, however it is listed.
        A capitalised word inside the question counts as a term here: "Which papers build on OpenAI's Whisper?"
        had every title dropped, the papers naming Whisper too, for the one term "openai" that none holds.
        """
        terms = specific_terms(question, capitalised=True)
        if not terms:
            return []
        return [v for v in verdicts if v.method == "title" and v.citations
                and not any(t in text for text in map(self._paper_text, v.citations) for t in terms)]

    def off_question_claims(self, question: str, verdicts: list[SentenceVerdict],
                            sources: list[Source]) -> list[SentenceVerdict]:
        """The model's sentences citing only papers that hold none of the question's figures and terms, when a
        paper shown holds one.

        Seen on my own questions: "Which keyword spotting metric went up by 11.3%?" was answered first with a
        true line about the CTC paper (its summary, the collection's one in English, is the one the model copies
        most), which holds no 11.3%; the paper that does was quoted only under it.
        """
        terms = [rf"(?<![a-z0-9]){re.escape(t)}(?![a-z0-9])" for t in specific_terms(question)]
        figures = {item for item in checkable_items(question) if item.startswith("#")}
        if not terms and not figures:
            return []

        @functools.cache
        def holds(arxiv_id: str) -> bool:
            text = self._paper_text(arxiv_id)
            return any(re.search(t, text) for t in terms) or bool(figures & checkable_items(text))

        if not any(holds(s.arxiv_id) for s in sources):
            return []
        return [v for v in verdicts if v.supported and v.method not in ("title", "quoted") and v.citations
                and not any(holds(c) for c in v.citations)]

    def _paper_text(self, arxiv_id: str) -> str:
        """A version's title and every chunk, case-folded: what a paper says, beyond the evidence shown."""
        chunks = self.retriever.chunks_of(arxiv_id)
        return " ".join([chunks[0].metadata.get("title", "") if chunks else ""] + [c.text for c in chunks]).casefold()

    def _led_by(self, sought: str | None, sources: list[Source], retrieval, question: str) -> list[Source]:
        """The evidence with the paper sought first: when the topic check passed over the top paper for the next
        one, that one leads the evidence (the ranking is changed to match)."""
        if not sought or sought == sources[0].base_id:
            return sources
        retrieval.lead_with(sought)
        return select_evidence(retrieval, self.retriever, question, self.settings.evidence_tokens)

    def off_topic_papers(self, question: str, sought: str | None, sources: list[Source],
                         verdicts: list[SentenceVerdict]) -> list[SentenceVerdict]:
        """Sentences about other papers than the one "Is there a paper on X?" found, which the topic check
        rejects.

        Seen on fresh questions: "有没有用语音大模型给学英语的人的口语自动打分的研究？" found the L2 grading paper,
        and the model listed three other papers' lines of the evidence ("[arXiv:…] <title> <sentence>…"), true
        and beside the point. "有没有用大模型做音乐生成的论文？" is answered by several papers (Chinese does not
        mark the plural): each other paper cited is judged, and those the check is not sure of are left out.
        """
        if not sought or not self.topic_checks:
            return []
        others = {c for v in verdicts for c in v.citations if not c.startswith(sought)}
        return self._judged_off_topic(question, sources, others, verdicts)

    def names_from_elsewhere(self, question: str, retrieval: Retrieval, sources: list[Source],
                             verdicts: list[SentenceVerdict]) -> list[SentenceVerdict]:
        """Sentences answering a name question about a described paper with a name from another paper shown,
        which the topic check rejects as the work asked about.

        Seen on my own question "Which dataset of children's speech was used for reading-error detection?": the
        Dutch children's reading paper led the evidence, and the model answered "ChildGuard1", citing the
        child-targeted hate-speech paper shown beside it (asked in Chinese, it added what ChildGuard is for). The
        name is in that paper's evidence, so the check found the sentence supported. A question that names its
        paper is left alone.
        """
        if not (self.topic_checks and sources and asks_a_name(question)) or retrieval.requested_ids \
                or any(names_paper(question, s.title) for s in sources):
            return []
        others = {c for v in verdicts if v.supported for c in v.citations if c != sources[0].arxiv_id}
        return self._judged_off_topic(question, sources, others, verdicts)

    def _judged_off_topic(self, question: str, sources: list[Source], papers: set[str],
                          verdicts: list[SentenceVerdict]) -> list[SentenceVerdict]:
        """The sentences citing only papers (of ``papers`` shown as ``sources``) that the topic check does not
        accept as the work ``question`` is about, at the bar for papers beside the one found."""
        by_id = {s.arxiv_id: s for s in sources}
        rejected = {c for c in papers if c in by_id and not on_topic(question, by_id[c], self.retriever,
                                                                      self.settings, self.topic_llm,
                                                                      EXTRA_PAPER_MIN_YES)}
        return [v for v in verdicts if v.citations and set(v.citations) <= rejected]

    @staticmethod
    def _attribute(sentence: str, claim: str, sources: list[Source], judge: CascadeJudge) -> SentenceVerdict:
        """An uncited sentence gets the citation of the first source that supports it, or stays unsupported.

        Small models often state a correct fact and forget the ID; the judge, not the model, decides.
        """
        # The source whose best sentence is closest, then one verdict: the model judges once, not per source.
        embedding = next(j for j in judge.judges if isinstance(j, EmbeddingJudge))
        ranked = sorted(sources, key=lambda s: -embedding.similarity(claim, [s.title, *s.sentences]))
        supported, method = judge.decide(claim, [ranked[0].title, *ranked[0].sentences]) if ranked else (None, "")
        if supported:
            return SentenceVerdict(sentence, [ranked[0].arxiv_id], True, "attributed",
                                   evidence_of(claim, ranked[:1], method, judge))
        return SentenceVerdict(sentence, [], False, "uncited")

    def condense(self, question: str, history: list[dict]) -> str:
        """A standalone question: the model rewrites a follow-up with the history; without a model, a rule does.

        Only messages that look like follow-ups (they refer back, or are short) are rewritten.
        """
        if not history or not is_follow_up(question, history):
            return question
        fallback = condense(question, history, self.settings.max_question_chars)
        if self.llm is None or switches_to(question, history):
            # "What about OpusLM?": the rule puts the new name in the last question; the 1.5B model's rewrite
            # kept the paper just answered ("The method mentioned in the last message is CASPER").
            return fallback
        transcript = "\n".join(f"{m['role']}: {prompts.sanitize(m['content'])[:600]}" for m in history[-4:])
        messages = [ChatMessage(role="system", content=prompts.CONDENSE_SYSTEM),
                    ChatMessage(role="user", content=prompts.CONDENSE_USER.format(
                        history=transcript, question=prompts.sanitize(question)))]
        try:
            rewritten = self.llm.chat(messages, max_tokens=80).message.content or ""
        except Exception:  # the answer step reports an unreachable backend; here the rule will do
            return fallback
        rewritten = " ".join(rewritten.strip().strip('"').split())
        if not rewritten or len(rewritten) > 400 or prompts.NO_ANSWER in rewritten \
                or not reads_as_question(rewritten):
            return fallback
        # Keep the papers the conversation was about, so retrieval goes straight to them.
        ids = [i for i in find_arxiv_ids(fallback) if i not in rewritten]
        return f"{rewritten} ({' '.join(ids)})" if ids else rewritten

    def _generate(self, question: str, language: str, sources: list[Source]) -> Iterator[str]:
        if self.llm is None:
            yield extractive_answer(sources, language)
            return
        try:
            for chunk in self.llm.stream_chat(answer_messages(question, language, sources)):
                if chunk.delta:
                    yield chunk.delta
        except UserError:
            raise
        except Exception as exc:  # each client library raises its own connection errors
            raise UserError(f"the {self.settings.backend} backend ({backend_location(self.settings)}) failed: "
                            f"{type(exc).__name__}: {redact(str(exc).splitlines()[0]) if str(exc) else ''}") from exc

    def _clean(self, question: str) -> tuple[str, list[str]]:
        question = _CONTROL_RE.sub("", question or "").strip()
        if not question:
            raise UserError(prompts.EMPTY_QUESTION)
        if not any(c.isalnum() for c in question):
            raise UserError(prompts.NO_WORDS)
        notices = []
        if len(question) > self.settings.max_question_chars:
            question = question[: self.settings.max_question_chars]
            notices.append(prompts.TRUNCATED.format(limit=self.settings.max_question_chars))
        return question, notices

    def _bounded(self, history: list[dict]) -> list[dict]:
        """The latest messages of the history, each cut like a question: one long earlier message must not
        make every follow-up slow to embed and search (and hold the shared embedder meanwhile)."""
        limit = self.settings.max_question_chars
        return [{**m, "content": _CONTROL_RE.sub("", m.get("content") or "")[:limit]}
                for m in history[-self.settings.max_history_messages:]]

    @staticmethod
    def _abstention(sources: list[Source], language: str, opening: dict[str, str] = prompts.ABSTAIN) -> str:
        newest = {}
        for source in sources:  # one line per paper, even when several versions were shown
            newest.setdefault(source.base_id, (source.title, source.arxiv_id))
        return opening[language] + " " + _closest(list(newest.values()), language)


def answer_messages(question: str, language: str, sources: list[Source]) -> list[ChatMessage]:
    """The answer prompt: the evidence sentences of each source, then the question (also what benchmarks count)."""
    evidence = "\n\n".join(prompts.EVIDENCE_ITEM.format(arxiv_id=s.arxiv_id, title=s.title,
                                                         sentences="\n".join(f"- {x}" for x in s.sentences))
                           for s in sources)
    return [ChatMessage(role="system", content=prompts.ANSWER_SYSTEM),
            ChatMessage(role="user", content=prompts.ANSWER_USER.format(
                evidence=prompts.sanitize(evidence), question=prompts.sanitize(question),
                language=prompts.LANGUAGE_NAMES[language]))]


def _answers(verdict: SentenceVerdict, question: str, titles: dict[str, str]) -> bool:
    """Does a supported sentence answer? A bare title ("[arXiv:…] <title>") does only when the question asks to
    identify work ("Which system …?"): after "What did X change?" it answers nothing; nor does the title of a
    paper the question names ("Which model came out on top on CMI-Bench?" is not answered by "CMI-Bench: …"),
    unless it asks for the paper ("Which paper proposes XY-Tokenizer?" is answered by "XY-Tokenizer: …").
    (Also requiring the title to be of a top-ranked paper was measured and dropped: the model's pick among the
    titles shown was the right one more often than the ranking's.)"""
    if verdict.method != "title":
        return True
    return a_title_answers(question) and (asks_for_the_paper(question) or not any(
        names_paper(question, titles.get(c, "")) for c in verdict.citations))


def attributed_elsewhere(question: str, verdicts: list[SentenceVerdict], sources: list[Source]) -> list[SentenceVerdict]:
    """Sentences the model left uncited that the check found support for in a paper other than the one the
    question names.

    Asked "What bitrate does XY-Tokenizer run at, and what trade-off does it address?", the bundled model went on
    past what it knew ("…achieving state-of-the-art results for CTC-based ASR systems"): true of another paper
    shown, and given its citation by the check, but not about XY-Tokenizer; shown, it read as the answer."""
    named = {s.arxiv_id for s in sources if names_paper(question, s.title)}
    return [v for v in verdicts if named and v.method == "attributed" and v.citations and not set(v.citations) & named]


def _closest(papers: list[tuple[str, str]], language: str) -> str:
    """The closest papers (title, versioned ID), at most three, for an abstention."""
    names = [f"{title} ({arxiv_id})" for title, arxiv_id in papers[:3]]
    return prompts.CLOSEST[language].format(papers="; ".join(names)) if names else ""


def condense(question: str, history: list[dict],
             max_chars: int = Settings.model_fields["max_question_chars"].default) -> str:
    """The rule-based rewrite: a follow-up gets the previous question and the papers cited in the last answer.

    Deterministic and free: the fallback when no model is there to rewrite. The result has at most
    ``max_chars`` characters: the IDs are kept, the previous question is cut to what room is left.
    A follow-up naming something new ("What about OpusLM?") asks the previous question of it: the one name of
    that question is replaced by the new one (else its names are left out), and the last answer's IDs are not
    added, or retrieval would go straight back to the paper just answered.
    """
    if not history or not is_follow_up(question, history):
        return question
    last_user = next((m["content"] for m in reversed(history) if m.get("role") == "user"), "")
    last_answer = next((m["content"] for m in reversed(history) if m.get("role") == "assistant"), "")
    ids = " ".join(list(dict.fromkeys(find_arxiv_ids(last_answer)))[:4])
    if new := switches_to(question, history):
        old = new_names(last_user, question)
        for name in old:
            last_user = last_user.replace(name, new[0] if len(new) == len(old) == 1 else "")
        ids = ""
    room = max_chars - len(question) - len(ids) - 5  # " (", "; ", ")"
    context = "; ".join(part for part in (last_user[:max(room, 0)].strip(), ids) if part)
    if not context:
        return question
    return f"{question[:max(max_chars - len(context) - 3, 0)]} ({context})"


EMBEDDING_CACHE = 20_000
"""Evidence sentences whose e5 vectors the support judge keeps (about 30 MB at 384 floats each)."""
JUDGE_CONTEXT = 2048
"""Context size of the support judge's own llama.cpp context (its prompts are one evidence block and a claim)."""
MIN_ANSWERABILITY = 0.99
"""Every specific term of the question must be in the retrieved papers (assistant/answerability.py)."""
LEADING_SCORE_RATIO = 0.9
"""A paper whose fused score is within this ratio of the best one leads the ranking (repair quotes only those)."""
QUOTE_SIMILARITY = 0.84
"""e5 similarity from which an unsupported sentence is taken to restate an evidence sentence (then quoted)."""


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
