"""``paperchat eval``: run the grounding evaluation, compare runs, check the CI gate, measure the judges.

    paperchat eval [--dataset FILE] [--backend NAME] [--judge NAME] [--limit N] [--out DIR] [--gate FILE]
    paperchat eval compare RUN_A RUN_B
    paperchat eval gate RUN [--thresholds FILE] [--profile NAME]
    paperchat eval ci [PROFILE ...] [--thresholds FILE] [--out DIR]
    paperchat eval judges [--judge NAME ...]

Registered on the main command in ``ui/cli.py``; a thin layer over
:mod:`evals.runner` and :mod:`evals.report`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from assistant.backends import backend_names
from evals.judges import JUDGES, judge_agreement, load_judge, load_support_pairs
from evals.questions import DEV_SET, load_questions
from evals.report import check_gate, compare_runs, gate_profile, load_thresholds, markdown_comparison
from evals.runner import read_results, run_eval, select
from index.settings import with_overrides

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.toml"
RUNS_DIR = Path(__file__).resolve().parent / "runs"


def _settings(ctx: click.Context):
    from assistant.settings import Settings

    return getattr(ctx.obj, "settings", None) or Settings()


@click.group("eval", invoke_without_command=True)
@click.option("--dataset", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Questions in the eval JSONL format (default: the development set).")
@click.option("--backend", type=click.Choice(backend_names()), help="Override PAPERCHAT_BACKEND.")
@click.option("--judge", type=click.Choice(JUDGES), help="Support judge for citation and faithfulness metrics "
              "(default: the gate profile's, else cheap).")
@click.option("--limit", type=click.IntRange(1), help="Only the first N questions.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for results.jsonl and the reports (default: evals/runs/DATE-BACKEND-JUDGE).")
@click.option("--timeout", default=180.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds one question may take; a slower one is recorded as failed.")
@click.option("--gate", "gate_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Check the run against this thresholds file; exit 1 on a breach. The backend's profile "
                   "there may fix the questions and the judge.")
@click.option("--profile", help="Gate profile in the thresholds file (default: the backend's name).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.pass_context
def eval_group(ctx: click.Context, dataset: Path | None, backend: str | None, judge: str | None, limit: int | None,
               out: Path | None, timeout: float, gate_file: Path | None, profile: str | None,
               no_progress: bool) -> None:
    """Measure retrieval, citations, answers, abstention and speed on a question set.

    Writes per-question results (results.jsonl) and a report (report.json,
    report.md, report.html) into the run folder and prints the Markdown
    summary's path. A crash or timeout of one question is recorded as that
    question's failure; the run goes on.
    """
    if ctx.invoked_subcommand:
        return
    from assistant.engine import Assistant

    settings = _settings(ctx)
    settings = with_overrides(settings, backend=backend)
    gate = gate_profile(load_thresholds(gate_file), profile or settings.backend) if gate_file else {}
    dataset = dataset or Path(gate.get("dataset", DEV_SET))
    judge = judge or gate.get("judge", "cheap")
    questions = select(load_questions(dataset), gate.get("questions"), limit)

    assistant = Assistant(settings)
    support_judge = load_judge(judge, assistant.embed_model, settings, llm=assistant.llm)
    out = out or RUNS_DIR / f"{time.strftime('%Y%m%d-%H%M%S')}-{settings.backend}-{judge.replace('+', '-')}"
    click.echo(f"eval: {len(questions)} questions of {dataset}, backend {settings.backend}, judge {judge}", err=True)
    report = run_eval(assistant, questions, support_judge, out, dataset=_shown(dataset), backend=settings.backend,
                      timeout=timeout, progress=not no_progress)
    _summary(report)
    click.echo(f"report: {out / 'report.md'} (also report.html, report.json, results.jsonl)")
    if gate_file:
        _exit_on_breach(check_gate(report, gate), profile or settings.backend)


def _shown(path: Path) -> str:
    """The path relative to the working directory when it is below it, so reports read the same on every machine."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _summary(report: dict) -> None:
    from evals.report import flatten

    flat = flatten(report)
    keys = ["retrieval.hit@1", "retrieval.mrr", "retrieval.ndcg@10", "citations.validity", "citations.recall",
            "citations.precision", "answers.correct_paper_cited", "answers.fact_recall", "answers.faithfulness",
            "abstention.accuracy", "abstention.abstention_rate", "speed.total_ms.p50"]
    click.echo("  ".join(f"{k.split('.', 1)[1]}={flat[k]:.3f}" if isinstance(flat.get(k), float)
                         else f"{k.split('.', 1)[1]}={flat.get(k)}" for k in keys))
    failures = report["failures"]
    click.echo(f"failed questions: {failures['failed_questions']} (crashed {failures['crashed']}, "
               f"timed out {failures['timed_out']})")


def _exit_on_breach(breaches: list[str], profile: str) -> None:
    for line in breaches:
        click.echo(f"gate breach: {line}", err=True)
    if breaches:
        sys.exit(1)
    click.echo(f"gate: every threshold of profile {profile} met")


@eval_group.command()
@click.argument("run_a", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("run_b", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the comparison here.")
def compare(run_a: Path, run_b: Path, out: Path | None) -> None:
    """Metric deltas from RUN_A to RUN_B (run folders) and the questions that got worse."""
    text = markdown_comparison(compare_runs(*read_results(run_a), *read_results(run_b)))
    click.echo(text, nl=False)
    if out:
        out.write_text(text, encoding="utf-8")


@eval_group.command("gate")
@click.argument("run", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--thresholds", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=THRESHOLDS,
              show_default=True)
@click.option("--profile", help="Profile in the thresholds file (default: the run's backend).")
def gate_command(run: Path, thresholds: Path, profile: str | None) -> None:
    """Check a finished RUN against the thresholds; exit 1 with one line per breached metric."""
    report, _ = read_results(run)
    name = profile or report["run"]["backend"]
    _exit_on_breach(check_gate(report, gate_profile(load_thresholds(thresholds), name)), name)


@eval_group.command("ci")
@click.argument("profiles", nargs=-1)
@click.option("--thresholds", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=THRESHOLDS,
              show_default=True)
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=RUNS_DIR,
              show_default=True, help="Each profile's run goes to OUT/gate-PROFILE.")
@click.option("--timeout", default=180.0, show_default=True, type=click.FloatRange(min=0.1),
              help="Seconds one question may take; a slower one is recorded as failed.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.pass_context
def ci(ctx: click.Context, profiles: tuple[str, ...], thresholds: Path, out_dir: Path, timeout: float,
       no_progress: bool) -> None:
    """Run and check the gate PROFILES (default: every profile of the thresholds file) in one process.

    The same as `paperchat eval --backend B --profile P --gate FILE` for each profile (B is the profile's
    ``backend``), but the embedder, each backend's model and each judge are loaded once, and a judge's
    agreement with the hand labels (the same in every run) is measured once. Every profile runs even when
    one breaches; exit 1 if any did.
    """
    from assistant.engine import Assistant
    from index.embedders import load_embedder

    table = load_thresholds(thresholds)
    gates = {name: gate_profile(table, name) for name in profiles or table.get("profiles", {})}
    base = _settings(ctx)
    embed_model = load_embedder(base)
    assistants: dict[str, Assistant] = {}
    judges: dict[str, object] = {}
    breached = []
    for name, gate in gates.items():
        backend = gate.get("backend", name)
        if backend not in assistants:
            assistants[backend] = Assistant(with_overrides(base, backend=backend), embed_model=embed_model)
        assistant = assistants[backend]
        judge_name = gate.get("judge", "cheap")
        if judge_name not in judges:  # its decisions are cached: the next run's agreement costs nothing
            judges[judge_name] = load_judge(judge_name, embed_model, assistant.settings, llm=assistant.llm)
        dataset = Path(gate.get("dataset", DEV_SET))
        questions = select(load_questions(dataset), gate.get("questions"))
        click.echo(f"eval {name}: {len(questions)} questions of {dataset}, backend {backend}, judge {judge_name}",
                   err=True)
        report = run_eval(assistant, questions, judges[judge_name], out_dir / f"gate-{name}", dataset=_shown(dataset),
                          backend=backend, timeout=timeout, progress=not no_progress)
        _summary(report)
        click.echo(f"report: {out_dir / f'gate-{name}' / 'report.md'}")
        for line in check_gate(report, gate):
            click.echo(f"gate breach ({name}): {line}", err=True)
            breached.append(name)
        if name not in breached:
            click.echo(f"gate: every threshold of profile {name} met")
    if breached:
        sys.exit(1)


@eval_group.command()
@click.option("--judge", "names", multiple=True, type=click.Choice(JUDGES), help="Judges to measure (default: all).")
@click.option("--pairs", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Hand-labelled support pairs (default: evals/datasets/support_pairs.jsonl).")
@click.pass_context
def judges(ctx: click.Context, names: tuple[str, ...], pairs: Path | None) -> None:
    """How often each support judge agrees with the hand-labelled support pairs."""
    from index.embedders import load_embedder

    settings = _settings(ctx)
    labelled = load_support_pairs(pairs) if pairs else load_support_pairs()
    embed_model = load_embedder(settings)
    click.echo("| judge | agreement | κ | unsupported accepted | supported rejected | en | zh | seconds |")
    click.echo("|---|---|---|---|---|---|---|---|")
    for name in names or JUDGES:
        result = judge_agreement(load_judge(name, embed_model, settings), labelled)
        click.echo(f"| {name} | {result['agreement']:.3f} | {result['kappa']} | {result['false_support']} | "
                   f"{result['false_reject']} | {result['by_lang'].get('en')} | {result['by_lang'].get('zh')} | "
                   f"{result['seconds']} |")
