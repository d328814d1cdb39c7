"""Reports of an eval run (JSON, Markdown, static HTML), run-to-run comparison, and the CI gate.

A metric is named by its section and key, ``retrieval.hit@1`` or
``speed.total_ms.p95``, the same names the thresholds file uses.
"""

from __future__ import annotations

import html
import json
import re
import tomllib
from pathlib import Path

from evals import metrics as m

METRIC_DOCS = {
    "retrieval.hit@1": "an expected paper is ranked first (answerable questions)",
    "retrieval.hit@5": "an expected paper is in the top 5",
    "retrieval.mrr": "mean of 1 / rank of the first expected paper",
    "retrieval.ndcg@10": "nDCG@10 with binary relevance on base IDs",
    "retrieval.recall@10_multi": "share of the expected papers in the top 10, multi-paper questions",
    "citations.validity": "cited IDs that exist and were among the sources shown",
    "citations.recall": "ALCE: answer sentences whose citations jointly support them",
    "citations.precision": "ALCE: citations needed to support their sentence",
    "answers.correct_paper_cited": "answerable questions answered with an expected paper cited",
    "answers.fact_recall": "expected facts found in the answer (normalised case, spaces, thousands separators)",
    "answers.answer_coverage": "expected facts found in the evidence shown to the model (titles and sentences)",
    "answers.faithfulness": "answer sentences supported by the evidence shown",
    "abstention.accuracy": "correct / all (PaperQA2); correct = cited an expected paper, or abstained when unanswerable",
    "abstention.precision": "correct / answered (PaperQA2)",
    "abstention.abstention_rate": "abstentions on unanswerable questions",
    "abstention.false_abstention_rate": "abstentions on answerable questions (lower is better)",
}
_CODE_RE = re.compile(r"`([^`]*)`")
LOWER_IS_BETTER = ("abstention.false_abstention_rate", "speed.", "failures.")


# --- building ---------------------------------------------------------------------

def build_report(run: dict, records: list[dict], judge_report: dict | None) -> dict:
    """The report of a run: its settings, every metric, breakdowns by kind and language, failures."""
    return {
        "run": run,
        "failures": {
            "crashed": sum(r["status"] == "error" for r in records),
            "timed_out": sum(r["status"] == "timeout" for r in records),
            "failed_questions": sum(bool(r["failures"]) for r in records),
        },
        "metrics": aggregate(records),
        "by_kind": {kind: _facet(records, lambda r, k=kind: r["kind"] == k) for kind in _kinds(records)}
                   | {"exact-ID": _facet(records, lambda r: r.get("names_id"))},
        "by_lang": {lang: _facet(records, lambda r, g=lang: r["lang"] == g)
                    for lang in sorted({r["lang"] for r in records})},
        "judge_agreement": judge_report,
    }


def aggregate(records: list[dict]) -> dict:
    """Every metric over a set of scored questions (see METRIC_DOCS)."""
    ok = [r["metrics"] for r in records if r["status"] == "ok"]
    answerable = [v for v in ok if v["answerable"]]
    answered = [v for v in ok if not v["abstained"]]
    multi = [v for v, r in zip(ok, [r for r in records if r["status"] == "ok"])
             if v["answerable"] and len({m.base_of(i) for i in r["expected_ids"]}) > 1]
    citations = sum(v["citations"] for v in ok)
    outcomes = [m.AbstentionOutcome(v["answerable"], v["abstained"], v["correct"]) for v in ok]
    abstention = m.abstention_metrics(outcomes)
    # A crashed or timed-out question is a wrong answer for accuracy.
    abstention["accuracy"] = sum(o.correct for o in outcomes) / len(records) if records else None
    timings = [r["answer"]["timings_ms"] for r in records if r["status"] == "ok"]
    return {
        "retrieval": {
            "questions": len(answerable),
            "hit@1": m.mean([v["hit@1"] for v in answerable]),
            "hit@5": m.mean([v["hit@5"] for v in answerable]),
            "mrr": m.mean([v["rr"] for v in answerable]),
            "ndcg@10": m.mean([v["ndcg@10"] for v in answerable]),
            "recall@10_multi": m.mean([v["recall@10"] for v in multi]),
        },
        "citations": {
            "answers": len(answered),
            "citations": citations,
            "validity": sum(v["valid_citations"] for v in ok) / citations if citations else None,
            "recall": m.mean([v.get("citation_recall") for v in answered]),
            "precision": m.mean([v.get("citation_precision") for v in answered]),
        },
        "answers": {
            "correct_paper_cited": m.mean([v.get("correct_paper_cited") for v in answerable]),
            "fact_recall": m.mean([v.get("fact_recall") for v in answerable]),
            "answer_coverage": m.mean([v.get("answer_coverage") for v in answerable]),
            "faithfulness": m.mean([v.get("faithfulness") for v in answered]),
        },
        "abstention": abstention,
        "speed": {f"{name}_ms": {"p50": m.percentile([t[name] for t in timings if name in t], 50),
                                 "p95": m.percentile([t[name] for t in timings if name in t], 95)}
                  for name in ("retrieval", "first_token", "total")},
    }


def _kinds(records: list[dict]) -> list[str]:
    order = ["single", "multi", "followup", "version", "unanswerable"]
    kinds = {r["kind"] for r in records}
    return [k for k in order if k in kinds] + sorted(kinds - set(order))


def _facet(records: list[dict], keep) -> dict:
    chosen = [r for r in records if keep(r)]
    metrics = aggregate(chosen)
    return {
        "questions": len(chosen),
        "failed": sum(bool(r["failures"]) for r in chosen),
        "hit@1": metrics["retrieval"]["hit@1"],
        "mrr": metrics["retrieval"]["mrr"],
        "correct_paper_cited": metrics["answers"]["correct_paper_cited"],
        "fact_recall": metrics["answers"]["fact_recall"],
        "citation_recall": metrics["citations"]["recall"],
        "faithfulness": metrics["answers"]["faithfulness"],
        "accuracy": metrics["abstention"]["accuracy"],
    }


def flatten(report: dict) -> dict[str, float]:
    """``section.metric`` (and ``speed.total_ms.p95``) to value, for the gate and for comparisons."""
    flat = {f"failures.{k}": v for k, v in report["failures"].items()}
    for section, values in report["metrics"].items():
        for key, value in values.items():
            if isinstance(value, dict):
                for sub, number in value.items():
                    flat[f"{section}.{key}.{sub}"] = number
            else:
                flat[f"{section}.{key}"] = value
    return flat


# --- writing -----------------------------------------------------------------------

def write_reports(out_dir: Path, report: dict, records: list[dict]) -> None:
    out_dir = Path(out_dir)
    (out_dir / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out_dir / "report.md").write_text(markdown_report(report, records), encoding="utf-8")
    (out_dir / "report.html").write_text(html_report(report, records), encoding="utf-8")


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _summary_rows(report: dict) -> list[tuple[str, str, str]]:
    flat = flatten(report)
    rows = [(name, _fmt(flat.get(name)), doc) for name, doc in METRIC_DOCS.items()]
    for name in ("retrieval", "first_token", "total"):
        p50, p95 = flat.get(f"speed.{name}_ms.p50"), flat.get(f"speed.{name}_ms.p95")
        rows.append((f"speed.{name}_ms p50 / p95", f"{_fmt(p50, 0)} / {_fmt(p95, 0)}",
                     f"{name.replace('_', ' ')} latency in ms"))
    return rows


def _facet_columns() -> list[str]:
    return ["questions", "failed", "hit@1", "mrr", "correct_paper_cited", "fact_recall", "citation_recall",
            "faithfulness", "accuracy"]


def _headline(report: dict) -> list[str]:
    run, failures = report["run"], report["failures"]
    lines = [
        f"Dataset `{run['dataset']}` ({run['questions']} questions), backend **{run['backend']}**, "
        f"support judge **{run['judge']}**, {run['date']}, {run['seconds']} s on {run['machine']['cpus']} cores "
        f"(load average {run['machine'].get('load', '?')} at the start).",
        f"Failed questions: **{failures['failed_questions']}** of {run['questions']} "
        f"(crashed {failures['crashed']}, timed out {failures['timed_out']}).",
        f"Ranking metrics use `{run['retrieval_ranking']}`.",
    ]
    agreement = report.get("judge_agreement")
    if agreement:
        lines.append(f"Judge `{agreement['judge']}` agrees with the hand labels on {agreement['agreement']:.3f} of "
                     f"{agreement['pairs']} support pairs (Cohen's κ {_fmt(agreement['kappa'])}; "
                     f"{agreement['false_support']} unsupported accepted, {agreement['false_reject']} supported "
                     f"rejected).")
    return lines


def _sentence(text: str) -> str:
    """An answer sentence without its list marker, which would read as markdown inside a list."""
    return text.lstrip("-*+• ").strip()


def _md_cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_report(report: dict, records: list[dict]) -> str:
    out = [f"# Grounding evaluation: {report['run']['backend']} backend", ""]
    out += [line + "  " for line in _headline(report)] + [""]
    out += ["| metric | value | meaning |", "|---|---|---|"]
    out += [f"| {name} | {value} | {doc} |" for name, value, doc in _summary_rows(report)]
    for title, facets in (("By kind", report["by_kind"]), ("By language", report["by_lang"])):
        columns = _facet_columns()
        out += ["", f"## {title}", "", "| | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
        out += [f"| {name} | " + " | ".join(_fmt(values[c]) for c in columns) + " |" for name, values in facets.items()]

    failed = [r for r in records if r["failures"]]
    out += ["", f"## Failed questions ({len(failed)})", ""]
    for r in failed:
        out += [f"### {r['id']} ({r['kind']}, {r['lang']}): {_md_cell(r['question'])}", ""]
        out += [f"- **why:** {_md_cell('; '.join(r['failures']))}",
                f"- **expected:** {', '.join(r['expected_ids']) or 'abstain'}"
                + (f"; facts: {', '.join(r['facts'])}" if r.get("facts") else ""),
                f"- **retrieved (top 5):** {', '.join(r['retrieved'][:5]) or '–'}"]
        if r["history"]:
            out.append("- **history:** " + " / ".join(_md_cell(f"{h['role']}: {h['content']}") for h in r["history"]))
        if r["answer"]:
            out += ["", "Answer:", ""] + ["> " + line for line in r["answer"]["answer"].splitlines()] + [""]
            for s in r["sentences"]:
                mark = "✓" if s["recall"] else "✗"
                out.append(f"- {mark} {_md_cell(_sentence(s['text']))} (cites {', '.join(s['citations']) or 'nothing'}"
                           + (f"; unneeded: {', '.join(s['unneeded'])}" if s["unneeded"] else "") + ")")
            out += ["", "Evidence shown:", ""]
            for source in r["answer"]["sources"]:
                out.append(f"- **{source['arxiv_id']}** {_md_cell(source['title'])}: {_md_cell(source['text'])}")
        out.append("")

    passed = [r for r in records if not r["failures"]]
    out += [f"## Passed questions ({len(passed)})", "", "| id | kind | lang | question | rr | citation recall |",
            "|---|---|---|---|---|---|"]
    out += [f"| {r['id']} | {r['kind']} | {r['lang']} | {_md_cell(r['question'][:90])} | "
            f"{_fmt(r['metrics'].get('rr'))} | {_fmt(r['metrics'].get('citation_recall'))} |" for r in passed]
    return "\n".join(out) + "\n"


_CSS = """
body{font:15px/1.5 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left;
vertical-align:top}th{background:#f3f3f3}.failed{border-left:4px solid #c33;padding-left:.8em;margin:1.2em 0}
.why{color:#a00}.ok{color:#070}.bad{color:#a00}blockquote{background:#f7f7f7;margin:.5em 0;padding:.4em .8em;
white-space:pre-wrap}details{margin:.3em 0}.src{font-size:13px;color:#333}code{background:#f3f3f3;padding:0 .2em}
"""


def html_report(report: dict, records: list[dict]) -> str:
    """A static page; every piece of text from questions, answers and evidence is escaped."""
    e = html.escape
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'>",
             f"<title>Grounding evaluation: {e(report['run']['backend'])}</title><style>{_CSS}</style></head><body>",
             f"<h1>Grounding evaluation: {e(report['run']['backend'])} backend</h1>"]
    parts += ["<p>" + _CODE_RE.sub(r"<code>\1</code>", e(line).replace("**", "")) + "</p>" for line in _headline(report)]
    parts.append("<table><tr><th>metric</th><th>value</th><th>meaning</th></tr>")
    parts += [f"<tr><td>{e(n)}</td><td>{e(v)}</td><td>{e(d)}</td></tr>" for n, v, d in _summary_rows(report)]
    parts.append("</table>")
    for title, facets in (("By kind", report["by_kind"]), ("By language", report["by_lang"])):
        columns = _facet_columns()
        parts.append(f"<h2>{title}</h2><table><tr><th></th>" + "".join(f"<th>{e(c)}</th>" for c in columns) + "</tr>")
        parts += [f"<tr><td>{e(name)}</td>" + "".join(f"<td>{e(_fmt(values[c]))}</td>" for c in columns) + "</tr>"
                  for name, values in facets.items()]
        parts.append("</table>")

    failed = [r for r in records if r["failures"]]
    parts.append(f"<h2>Failed questions ({len(failed)})</h2>")
    for r in failed:
        parts.append(f"<div class='failed'><h3>{e(r['id'])} ({e(r['kind'])}, {e(r['lang'])}): {e(r['question'])}</h3>")
        parts.append(f"<p class='why'>{e('; '.join(r['failures']))}</p>")
        parts.append(f"<p>expected: {e(', '.join(r['expected_ids']) or 'abstain')}"
                     + (f"; facts: {e(', '.join(r['facts']))}" if r.get("facts") else "")
                     + f"<br>retrieved (top 5): {e(', '.join(r['retrieved'][:5]) or '–')}</p>")
        if r["history"]:
            parts.append("<p>history: " + "<br>".join(e(f"{h['role']}: {h['content']}") for h in r["history"]) + "</p>")
        if r["answer"]:
            parts.append(f"<blockquote>{e(r['answer']['answer'])}</blockquote><ul>")
            for s in r["sentences"]:
                mark = "<span class='ok'>✓</span>" if s["recall"] else "<span class='bad'>✗</span>"
                parts.append(f"<li>{mark} {e(_sentence(s['text']))} <small>(cites {e(', '.join(s['citations']) or 'nothing')}"
                             + (f"; unneeded: {e(', '.join(s['unneeded']))}" if s["unneeded"] else "")
                             + ")</small></li>")
            parts.append("</ul><details open><summary>Evidence shown</summary>")
            for source in r["answer"]["sources"]:
                parts.append(f"<p class='src'><b>{e(source['arxiv_id'])}</b> {e(source['title'])}<br>"
                             + e(source["text"]).replace("\n", "<br>") + "</p>")
            parts.append("</details>")
        parts.append("</div>")

    passed = [r for r in records if not r["failures"]]
    parts.append(f"<h2>Passed questions ({len(passed)})</h2><table><tr><th>id</th><th>kind</th><th>lang</th>"
                 "<th>question</th><th>rr</th><th>citation recall</th></tr>")
    parts += [f"<tr><td>{e(r['id'])}</td><td>{e(r['kind'])}</td><td>{e(r['lang'])}</td><td>{e(r['question'])}</td>"
              f"<td>{e(_fmt(r['metrics'].get('rr')))}</td><td>{e(_fmt(r['metrics'].get('citation_recall')))}</td></tr>"
              for r in passed]
    parts.append("</table></body></html>\n")
    return "\n".join(parts)


# --- comparing two runs ----------------------------------------------------------------

def compare_runs(report_a: dict, records_a: list[dict], report_b: dict, records_b: list[dict]) -> dict:
    """Metric deltas (B − A) and the questions that got worse from run A to run B.

    A question got worse when it failed for a reason it did not fail for
    before (a crash included), or when its reciprocal rank, citation recall
    or fact recall went down.
    """
    flat_a, flat_b = flatten(report_a), flatten(report_b)
    deltas = {}
    for name in flat_a:
        a, b = flat_a[name], flat_b.get(name)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            deltas[name] = {"a": a, "b": b, "delta": b - a}
    before = {r["id"]: r for r in records_a}
    worse = []
    for r in records_b:
        old = before.get(r["id"])
        if old is None:
            continue
        reasons = []
        added = [f for f in r["failures"] if f not in old["failures"]]
        if added:
            reasons.append(("now fails: " if not old["failures"] else "new failure: ") + "; ".join(added))
        for key in ("rr", "citation_recall", "fact_recall"):
            a, b = old["metrics"].get(key), r["metrics"].get(key)
            if a is not None and (b is None or b < a) and r["status"] == "ok":
                reasons.append(f"{key} {_fmt(a)} → {_fmt(b)}")
        if reasons:
            worse.append({"id": r["id"], "question": r["question"], "reasons": reasons})
    return {"a": report_a["run"], "b": report_b["run"], "deltas": deltas, "worse": worse}


def markdown_comparison(comparison: dict) -> str:
    a, b = comparison["a"], comparison["b"]
    out = [f"# {a['backend']}/{a['judge']} ({a['date']}) → {b['backend']}/{b['judge']} ({b['date']})", "",
           "| metric | A | B | Δ |", "|---|---|---|---|"]
    for name, d in comparison["deltas"].items():
        worse = d["delta"] > 0 if name.startswith(LOWER_IS_BETTER) else d["delta"] < 0
        flag = " ▼" if worse and abs(d["delta"]) > 1e-9 else ""
        out.append(f"| {name} | {_fmt(d['a'])} | {_fmt(d['b'])} | {d['delta']:+.3f}{flag} |")
    out += ["", f"## Questions that got worse ({len(comparison['worse'])})", ""]
    out += [f"- {w['id']}: {_md_cell(w['question'][:100])} — {'; '.join(w['reasons'])}" for w in comparison["worse"]]
    return "\n".join(out) + "\n"


# --- the gate ------------------------------------------------------------------------------

def load_thresholds(path: Path) -> dict:
    from index.errors import UserError

    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UserError(f"{path}: cannot read the thresholds ({exc})") from None


def gate_profile(thresholds: dict, name: str) -> dict:
    from index.errors import UserError

    profiles = thresholds.get("profiles", {})
    if name not in profiles:
        raise UserError(f"no [profiles.{name}] in the thresholds file (has: {', '.join(profiles) or 'none'})")
    return profiles[name]


def check_gate(report: dict, profile: dict) -> list[str]:
    """One line per breach of the profile's thresholds; empty when the run passes.

    A run made with another judge or on other questions than the profile's
    is a breach too: its numbers are not comparable with the thresholds.
    """
    breaches = []
    run = report["run"]
    if profile.get("backend") and run["backend"] != profile["backend"]:
        breaches.append(f"run.backend: the run used {run['backend']}, the thresholds are for {profile['backend']}")
    if profile.get("judge") and run["judge"] != profile["judge"]:
        breaches.append(f"run.judge: the run used {run['judge']}, the thresholds are for {profile['judge']}")
    if profile.get("questions") and sorted(run["ids"]) != sorted(profile["questions"]):
        breaches.append(f"run.questions: the run has {run['questions']} questions, not the profile's "
                        f"{len(profile['questions'])}")
    if profile.get("question_count") and run["questions"] != profile["question_count"]:
        breaches.append(f"run.questions: the run has {run['questions']} questions, the thresholds are for "
                        f"{profile['question_count']}")
    if profile.get("dataset") and Path(run["dataset"]).name != Path(profile["dataset"]).name:
        breaches.append(f"run.dataset: the run used {run['dataset']}, the thresholds are for {profile['dataset']}")
    flat = flatten(report)
    for name, limit in profile.get("min", {}).items():
        value = flat.get(name)
        if value is None or value < limit:
            breaches.append(f"{name} = {_fmt(value)} < {limit} (minimum)")
    for name, limit in profile.get("max", {}).items():
        value = flat.get(name)
        if value is None or value > limit:
            breaches.append(f"{name} = {_fmt(value)} > {limit} (maximum)")
    return breaches
