"""The model's draft, cleaned before it is checked: what a small model adds that is not an answer.

A 1.5B model sometimes ends its answer by copying the evidence block it was shown ("The evidence provided
includes the following papers:" then "[arXiv:…] <title>" and its "- …" lines). Every copied line is verbatim
evidence, so the support check passes it and the user reads the prompt back as an answer. The copy starts at
a line that is exactly an evidence header with a "- " line under it; from there on nothing is the model's own
(the lines are copied or translated), so it is cut, with the sentence that introduced it.
"""

from __future__ import annotations

import re

from assistant.answer import Source
from assistant.citations import strip_citations

_INTRO_RE = re.compile(r"[^.。!?！？\n]*[:：]\s*$")


def _key(text: str) -> str:
    return " ".join(re.sub(r"[*_#>`-]", " ", text).split()).casefold()


def strip_echo(text: str, sources: list[Source]) -> str:
    """``text`` up to where it starts copying the evidence block: a line that is only ``[arXiv:ID] <title>`` of a
    source shown, followed by a "- " line as in the prompt (a list of titles answering "which papers" has none)."""
    titles = {_key(s.title) for s in sources}
    lines = text.splitlines()
    for n, line in enumerate(lines[:-1]):
        header = line.startswith("[arXiv:") and _key(strip_citations(line)) in titles
        if header and lines[n + 1].lstrip().startswith("- "):
            kept = lines[:n]
            if kept:
                kept[-1] = _INTRO_RE.sub("", kept[-1]).rstrip()
            return "\n".join(kept).strip()
    return text
