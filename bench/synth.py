"""A seeded synthetic collection that looks like the bundled one, for scale and needle benchmarks.

Each synthetic paper copies the *shape* of a randomly drawn real summary
(its headings verbatim, the same number of contribution points, each line of
about the same length, the same language) and fills every line with clauses
recombined from real summaries of that language. Titles keep a real title's
word shapes with most words swapped for other title words. So lengths, the
Chinese/English mix, the number of points and hence chunks per paper follow
the bundled collection, and the tokens are real ones. The real papers' own
names (XY-Tokenizer, CMI-Bench, ...) are replaced by invented ones, so no
synthetic paper impersonates a real one.

Versions per paper follow the bundled distribution; a later version rewrites
one line of the previous one, as real revisions change a few sentences.

IDs are ``29MM.NNNNNvV`` ("year 2029"), so they can never collide with a real
arXiv ID of today, and stay well-formed for the corpus reader.

    .venv/bin/python -m bench.synth --papers 10000 --seed 1 --out /tmp/synth.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from index.chunking import is_heading, is_noise
from index.corpus import Paper, detect_language, read_corpus
from index.settings import BUNDLED_CORPUS

MAX_PAPERS = 12 * 100_000
_POINT_RE = re.compile(r"^(\d{1,2}\s*[.、)）]\s*)")
CLAUSE_END_RE = re.compile(r"(?<=[，。；,;])\s*|(?<=\.)\s+")
_HEAD_RE = re.compile(r"^([^：:]{2,30})[：:]")


def fake_id(number: int) -> str:
    """The ``number``-th synthetic base ID: 2901.00000, 2901.00001, ..., 2912.99999."""
    if not 0 <= number < MAX_PAPERS:
        raise ValueError(f"at most {MAX_PAPERS} synthetic papers")
    return f"29{number // 100_000 + 1:02d}.{number % 100_000:05d}"


class Vocabulary:
    """What the synthetic text is made of, measured from real papers."""

    def __init__(self, papers: list[Paper]):
        self.templates = [p.summary.splitlines() for p in papers]
        self.titles = [p.title.split() for p in papers]
        self.clauses: dict[str, list[str]] = {"zh": [], "en": []}
        self.heads: dict[str, list[str]] = {"zh": [], "en": []}
        self.title_words: dict[str, list[str]] = {}
        for paper in papers:
            for line in paper.summary.splitlines():
                line = _POINT_RE.sub("", line.strip())
                if not line or is_heading(line) or is_noise(line):
                    continue
                head = _HEAD_RE.match(line)
                if head:
                    self.heads[detect_language(head[1])].append(head[0])
                    line = line[head.end():]
                for clause in CLAUSE_END_RE.split(line):
                    if clause.strip():
                        self.clauses[detect_language(clause)].append(clause.strip())
            for word in paper.title.split():
                self.title_words.setdefault(_shape(word), []).append(word)
        per_base = Counter(p.base_id for p in papers)
        self.versions = list(per_base.values())
        # The real papers' own names ("XY-Tokenizer: ...", "CMI-Bench: ..."): a synthetic paper carrying one
        # would impersonate a real paper, so every occurrence is replaced by an invented name.
        self.names = sorted({p.title.split(":")[0].strip() for p in papers
                             if ":" in p.title and len(p.title.split(":")[0].split()) <= 2}, key=len, reverse=True)
        self._names_re = re.compile("|".join(re.escape(n) for n in self.names))

    def disguise(self, text: str, rng: random.Random, invented: dict[str, str]) -> str:
        """``text`` with every real paper name replaced, consistently within one paper (``invented``)."""
        def invent(match: re.Match) -> str:
            if match[0] not in invented:
                invented[match[0]] = "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(3, 6)))
            return invented[match[0]]

        return self._names_re.sub(invent, text)

    def title(self, rng: random.Random) -> str:
        words = rng.choice(self.titles)
        return " ".join(rng.choice(self.title_words[_shape(w)]) if rng.random() < 0.7 else w for w in words)

    def line(self, rng: random.Random, template: str, language: str) -> str:
        """A line shaped like ``template``: its point number, a point heading if it has one, similar length."""
        point = _POINT_RE.match(template)
        prefix = point[1] if point else ""
        body = template[len(prefix):]
        text = rng.choice(self.heads[language]) if _HEAD_RE.match(body) and self.heads[language] else ""
        # The last clause overshoots the target by half a clause on average: aim a little short.
        while len(text) < len(body) * rng.uniform(0.6, 1.0):
            clause = rng.choice(self.clauses[language])
            text = f"{text} {clause}" if language == "en" and text else text + clause
        return prefix + text.rstrip("，,；;") + ("。" if language == "zh" else ".")

    def summary(self, rng: random.Random) -> list[str]:
        template = rng.choice(self.templates)
        language = detect_language("\n".join(template))
        return [line if not line.strip() or is_heading(line.strip()) or is_noise(line.strip())
                else self.line(rng, line, language) for line in template]

    def revise(self, rng: random.Random, lines: list[str]) -> list[str]:
        """The next version: one content line rewritten."""
        content = [i for i, line in enumerate(lines) if line.strip() and not is_heading(line.strip())]
        if not content:
            return lines
        i = rng.choice(content)
        language = detect_language("\n".join(lines))
        return lines[:i] + [self.line(rng, lines[i], language)] + lines[i + 1:]


def _shape(word: str) -> str:
    if word.isupper() or sum(c.isupper() for c in word) > 1:
        return "acronym"
    if word[:1].isupper():
        return "capitalised"
    return "other"


def generate(papers: int, seed: int, vocabulary: Vocabulary | None = None) -> Iterator[dict]:
    """JSONL rows (``arxiv_id``, ``title``, ``summary``) of ``papers`` synthetic papers, all their versions."""
    vocabulary = vocabulary or Vocabulary(read_corpus([BUNDLED_CORPUS]).papers)
    rng = random.Random(seed)
    for number in range(papers):
        base = fake_id(number)
        invented: dict[str, str] = {}
        title = vocabulary.disguise(vocabulary.title(rng), rng, invented)
        lines = vocabulary.summary(rng)
        for version in range(1, rng.choice(vocabulary.versions) + 1):
            if version > 1:
                lines = vocabulary.revise(rng, lines)
            summary = vocabulary.disguise("\n".join(lines), rng, invented)
            yield {"arxiv_id": f"{base}v{version}", "title": title, "summary": summary}


def write(path: Path, papers: int, seed: int) -> int:
    """Write the collection to ``path`` (JSONL); returns the number of rows (versions)."""
    rows = 0
    with open(path, "w", encoding="utf-8") as out:
        for row in generate(papers, seed):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            rows += 1
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, required=True, help="distinct papers (versions come on top)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if not 0 < args.papers <= MAX_PAPERS:
        parser.error(f"--papers must be between 1 and {MAX_PAPERS}")
    rows = write(args.out, args.papers, args.seed)
    print(f"{rows} versions of {args.papers} synthetic papers written to {args.out}")


if __name__ == "__main__":
    main()
