"""arXiv identifiers: the one place that knows their shape.

An identifier is new-style (``2506.11091v1``, since April 2007) or old-style
(``hep-th/9901001v2``, August 1991 to March 2007); without a version it means
version 1. :func:`parse_arxiv_id` checks a whole identifier (dates, archive,
version); the patterns below find identifiers inside text, where only the
new-style form is looked for, since that is what answers and questions write.
"""

from __future__ import annotations

import re

NEW_STYLE_ID = r"\d{4}\.\d{4,5}(?:v\d+)?"
"""A new-style identifier in text, with or without its version; :func:`parse_arxiv_id` checks it."""
VERSIONED_ID = r"\d{4}\.\d{4,5}v\d+"
"""A new-style identifier with its version: what a citation names and what gets a link."""
CITABLE_ID = r"\d{2}(?:0[1-9]|1[0-2])\.\d{4,5}(?:v\d+)?"
"""A new-style identifier whose month is 01-12, so that an ordinary decimal (1234.5678) is not taken for one."""

_ID_RE = re.compile(
    r"^(?:arxiv:)?(?P<base>(?P<yymm>\d{4})\.(?P<number>\d{4,5})"
    r"|(?P<archive>[a-z]+(?:-[a-z]+)?)(?:\.[a-z]{2})?/(?P<old_yymm>\d{4})\d{3})(?:v(?P<version>\d{1,3}))?$",
    re.IGNORECASE,
)
_ID_IN_TEXT_RE = re.compile(rf"(?<![\d.])(?:arxiv:\s*)?({NEW_STYLE_ID})(?!\d)", re.IGNORECASE)

OLD_ARCHIVES = frozenset(
    "acc-phys adap-org alg-geom ao-sci astro-ph atom-ph bayes-an chao-dyn chem-ph cmp-lg comp-gas cond-mat cs "
    "dg-ga funct-an gr-qc hep-ex hep-lat hep-ph hep-th math math-ph mtrl-th nlin nucl-ex nucl-th patt-sol physics "
    "plasm-ph q-alg q-bio quant-ph solv-int supr-con".split())
"""The archives of old-style identifiers (``hep-th/9901001``), used from August 1991 to March 2007."""
MAX_VERSION = 99
"""The highest version accepted: real papers stay far below it; a larger number is a typo or an attack."""


def parse_arxiv_id(raw: str) -> tuple[str, str, int] | None:
    """Split an arXiv identifier into (versioned id, base id, version).

    An identifier without a version is taken as version 1. Returns None when
    ``raw`` is not an arXiv identifier.
    """
    match = _ID_RE.match(raw.strip())
    if not match:
        return None
    version = int(match["version"] or 1)
    if not 1 <= version <= MAX_VERSION:
        return None
    if match["yymm"]:
        # New-style IDs began in April 2007; four-digit numbers were used until 1412, five-digit ones since 1501.
        yymm = int(match["yymm"])
        if not (1 <= yymm % 100 <= 12 and yymm >= 704) or (len(match["number"]) == 4) != (yymm <= 1412):
            return None
        base = match["base"]
    else:
        yymm = int(match["old_yymm"])
        year = 1900 + yymm // 100 if yymm // 100 >= 91 else 2000 + yymm // 100
        if match["archive"].lower() not in OLD_ARCHIVES or not 1 <= yymm % 100 <= 12 \
                or not (199108 <= year * 100 + yymm % 100 <= 200703):
            return None
        base = match["base"].lower()
    return f"{base}v{version}", base, version


def base_of(arxiv_id: str) -> str:
    """``arxiv_id`` without its version (``2506.11091v2`` -> ``2506.11091``); a base ID stays as it is."""
    head, sep, tail = arxiv_id.rpartition("v")
    return head if sep and tail.isdigit() and head else arxiv_id


def version_label(arxiv_id: str) -> str:
    """The version of a versioned ID as people write it: ``2506.11091v2`` -> ``v2``."""
    return "v" + arxiv_id.rsplit("v", 1)[1]


def canonical_url(arxiv_id: str) -> str:
    return f"https://arxiv.org/abs/{arxiv_id}"


def find_arxiv_ids(text: str) -> list[str]:
    """The valid new-style identifiers named in ``text`` (``arXiv:`` prefix allowed), as written."""
    return [m for m in _ID_IN_TEXT_RE.findall(text) if parse_arxiv_id(m)]

