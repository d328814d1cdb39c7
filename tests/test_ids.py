"""index/ids.py: the one definition of an arXiv identifier that the whole program uses."""

from __future__ import annotations

import re

import pytest

from index.ids import (CITABLE_ID, MAX_VERSION, NEW_STYLE_ID, VERSIONED_ID, base_of, canonical_url, find_arxiv_ids,
                       parse_arxiv_id, version_label)


@pytest.mark.parametrize("raw, expected", [
    ("2506.11091v1", ("2506.11091v1", "2506.11091", 1)),
    ("2506.11091", ("2506.11091v1", "2506.11091", 1)),  # no version means version 1
    ("arXiv:2506.11091v3", ("2506.11091v3", "2506.11091", 3)),
    ("  2506.11091v12 ", ("2506.11091v12", "2506.11091", 12)),
    ("0704.0001v2", ("0704.0001v2", "0704.0001", 2)),  # the first month of new-style IDs, four digits
    ("1412.9999", ("1412.9999v1", "1412.9999", 1)),  # the last month of four-digit numbers
    ("1501.00001", ("1501.00001v1", "1501.00001", 1)),  # five digits from 2015
    ("hep-th/9901001v2", ("hep-th/9901001v2", "hep-th/9901001", 2)),
    ("HEP-TH/9901001", ("hep-th/9901001v1", "hep-th/9901001", 1)),  # old-style bases are lower-cased
    ("math.AG/0601001", ("math.ag/0601001v1", "math.ag/0601001", 1)),  # with a subject class
    ("cond-mat/9108001", ("cond-mat/9108001v1", "cond-mat/9108001", 1)),  # August 1991, the first month
    ("astro-ph/0703999", ("astro-ph/0703999v1", "astro-ph/0703999", 1)),  # March 2007, the last one
])
def test_valid_identifiers_parse(raw, expected):
    assert parse_arxiv_id(raw) == expected


@pytest.mark.parametrize("raw", [
    "2506.11091v0",  # versions start at 1
    f"2506.11091v{MAX_VERSION + 1}",  # beyond the highest version accepted
    "2506.11091v1000",  # more than three digits of version
    "2506.11091v",  # a 'v' without a number
    "2506.11091va",
    "2513.11091v1",  # month 13
    "2500.11091v1",  # month 00
    "0703.0001v1",  # before new-style IDs began (April 2007)
    "1501.0001",  # four-digit number after 2014
    "1412.00001",  # five-digit number before 2015
    "hep-th/9107001",  # before August 1991
    "hep-th/0704001",  # old style after March 2007
    "nope-th/9901001",  # not an archive
    "2506.1109", "2506.110911",  # too short, too long
    "2506-11091", "foo", "https://arxiv.org/abs/2506.11091", "2506.11091v1 extra", "", "v1", "arXiv:",
])
def test_malformed_identifiers_and_bad_versions_are_refused(raw):
    assert parse_arxiv_id(raw) is None


def test_base_and_version_label():
    assert base_of("2506.11091v2") == "2506.11091"
    assert base_of("2506.11091") == "2506.11091"
    assert base_of("hep-th/9901001v3") == "hep-th/9901001"
    assert version_label("2506.11091v12") == "v12"
    assert version_label("hep-th/9901001v3") == "v3"
    assert canonical_url("2506.11091v2") == "https://arxiv.org/abs/2506.11091v2"


def test_find_arxiv_ids_takes_valid_identifiers_written_in_text():
    text = "Compare arXiv:2506.11091v2 with 2505.13880 and 2513.00001 (no such month), not 12506.11091 or 3.2506.11091."
    assert find_arxiv_ids(text) == ["2506.11091v2", "2505.13880"]
    assert find_arxiv_ids("论文2506.11091v1的结果") == ["2506.11091v1"]


def test_text_patterns():
    assert re.fullmatch(VERSIONED_ID, "2506.11091v1") and not re.fullmatch(VERSIONED_ID, "2506.11091")
    assert re.fullmatch(NEW_STYLE_ID, "2506.11091") and re.fullmatch(NEW_STYLE_ID, "2506.11091v3")
    # A citation needs a real month, so ordinary decimals are not taken for IDs.
    assert re.fullmatch(CITABLE_ID, "2506.11091v1") and not re.fullmatch(CITABLE_ID, "1234.5678")
