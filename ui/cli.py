"""The ``paperchat`` command: a thin layer over the library API.

Every subcommand calls the same functions the chat UI and the evals use.
Errors a user can cause print one line (``paperchat: error: ...``) and exit
non-zero; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import click

from index.corpus import strip_control
from index.embedders import load_embedder
from index.errors import UserError
from index.ids import version_label
from index.ingest import IngestProgress
from index.ingest import ingest as run_ingest
from index.ingest import require_index
from index.redact import redact
from index.settings import load_settings, with_overrides
from index.store import PaperStore, describe_location, open_store
from assistant.backends import backend_names
from assistant.scope import MAX_SCOPE_PAPERS, VERSION_CHOICES, parse_papers
from ui.settings import Settings, settings_table

MAX_HISTORY_BYTES = 1_000_000
"""Largest ``--history`` file: the engine reads only the last few messages, each cut to a question's length."""


def _shown(text: str) -> str:
    """Text from the corpus, a model, a file name or an exception, as it may reach a terminal:
    no escape sequences or control characters, no credentials of URLs."""
    return redact(strip_control(text))


class _Context:
    def __init__(self):
        self.settings = load_settings(Settings)

    def store(self) -> PaperStore:
        return open_store(self.settings)


class _Group(click.Group):
    """Turns exceptions into one-line messages unless --debug was given."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except UserError as exc:
            if "--debug" in sys.argv:
                raise
            click.echo(f"paperchat: error: {_shown(str(exc))}", err=True)
            sys.exit(1)
        except Exception as exc:
            if "--debug" in sys.argv:
                raise
            message = str(exc).splitlines()[0] if str(exc) else ""
            click.echo(f"paperchat: unexpected error: {type(exc).__name__}: {_shown(message)} "
                       "(run again with --debug for the traceback)", err=True)
            sys.exit(1)


@click.group(cls=_Group)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """paperchat: ask questions about a collection of arXiv paper summaries."""
    ctx.obj = _Context()


@main.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--rebuild", is_flag=True, help="Drop the collection and embed everything again.")
@click.option("--if-missing", is_flag=True, help="Do nothing when the collection already has chunks.")
@click.pass_obj
def ingest(obj: _Context, files: tuple[Path, ...], rebuild: bool, if_missing: bool) -> None:
    """Parse, validate, chunk, embed and store FILES (default: the bundled collection).

    Only new or changed chunks are embedded. Files are streamed a few papers
    at a time, so an interrupted ingest continues where it stopped when run
    again. Rejected rows are listed as file:line: reason; the good rows are
    still ingested, and the exit code is 1.
    """
    from tqdm import tqdm

    store = obj.store()
    if if_missing and not rebuild and store.exists() and store.count() > 0:
        click.echo(f"index present: {store.count()} chunks in {describe_location(obj.settings)}")
        return
    paths = list(files) or list(obj.settings.corpus)
    bar = None

    def progress(step: IngestProgress) -> None:
        # The files are streamed, so the bar (and its ETA) counts bytes read, not chunks.
        nonlocal bar
        if bar is None:
            bar = tqdm(total=step.bytes_total, unit="B", unit_scale=True, desc="ingesting", file=sys.stderr)
        bar.set_postfix_str(f"{step.versions} versions, {step.embedded_chunks} chunks embedded", refresh=False)
        bar.update(step.bytes_read - bar.n)

    report = run_ingest(paths, store, lambda: load_embedder(obj.settings), rebuild=rebuild, progress=progress,
                        limits=obj.settings.limits)
    if bar is not None:
        bar.close()
    for problem in report.rejected:
        click.echo(f"rejected: {_shown(str(problem))}", err=True)
    click.echo(report.summary())
    if report.rebuild_refused:
        click.echo(f"paperchat: the rebuild was not applied ({report.rebuild_refused}); the index is as it was "
                   f"({report.total_in_store} chunks)", err=True)
    if report.rejected or report.rebuild_refused:
        sys.exit(1)


@main.command()
@click.argument("query")
@click.option("--k", "k", default=5, show_default=True, type=click.IntRange(1, 100), help="Papers to show.")
@click.option("--mode", type=click.Choice(["hybrid", "dense", "bm25"]), default=None,
              help="Retriever (default: the `retrieval` setting, hybrid): the answer engine's own ranking.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of lines.")
@click.pass_obj
def search(obj: _Context, query: str, k: int, mode: str | None, as_json: bool) -> None:
    """Rank papers by how well their summaries match QUERY (English or Chinese)."""
    from assistant.retrieval import HybridRetriever

    if not query.strip():
        raise UserError("the query is empty")
    if not any(c.isalnum() for c in query):
        raise UserError("the query has no words, only punctuation or symbols")
    store = obj.store()
    require_index(store)
    retriever = HybridRetriever(store, load_embedder(obj.settings), mode or obj.settings.retrieval)
    papers = retriever.retrieve(query, k=k).papers
    if as_json:
        # json escapes C0 controls; DEL and C1 controls would reach the terminal raw.
        click.echo(_shown(json.dumps({"query": query, "results": [p.as_dict() for p in papers]}, ensure_ascii=False)))
        return
    for rank, paper in enumerate(papers, start=1):
        best = paper.chunks[0]
        snippet = " ".join(strip_control(best.text).split())
        snippet = snippet if len(snippet) <= 70 else snippet[:69] + "…"
        versions = ",".join(version_label(v) for v in paper.versions)
        click.echo(_shown(f"{rank}. {paper.score:.3f}  {paper.base_id} [{versions}]  {paper.title}\n"
                          f"      {best.metadata.get('section')}: {snippet}"))


def _assistant(obj: _Context, backend: str | None):
    from assistant.engine import Assistant

    if backend:
        obj.settings = with_overrides(obj.settings, backend=backend)
    return Assistant(obj.settings, store=obj.store())


def _stream_to_terminal(assistant, question: str, history: list[dict], papers: list[str] | None = None,
                        versions: str = "newest"):
    """Print the answer as it streams, then the verified version when it differs."""
    from assistant.answer import AnswerDone, TextDelta

    streamed = ""
    for event in assistant.stream(question, history, papers=papers, versions=versions):
        if isinstance(event, TextDelta):
            streamed += event.text
            click.echo(strip_control(event.text), nl=False)
        elif isinstance(event, AnswerDone):
            answer = event.answer
    if streamed:
        click.echo()  # ends the streamed line
    if answer.text.strip() != streamed.strip():
        # An empty line sets the verified text apart from a draft; a refusal streams nothing and starts at once.
        click.echo(("\n" if streamed.strip() else "") + strip_control(answer.text))
    for notice in answer.notices:
        click.echo(f"note: {notice}", err=True)
    if answer.sentences:
        click.echo(f"\n[{answer.supported_sentences}/{len(answer.sentences)} sentences supported by their citations]")
    for source in answer.sources:
        click.echo(_shown(f"  {source.arxiv_id}  {source.title}  {source.url}"))
    return answer


BACKENDS = click.Choice(backend_names())


def _scope_options(command):
    """``--papers`` and ``--versions``: limit the answers to chosen papers (assistant/scope.py)."""
    command = click.option("--versions", type=click.Choice(VERSION_CHOICES), default="newest", show_default=True,
                           help="What a base ID of --papers means: its newest version, or all its versions "
                                "(a versioned ID is always that version).")(command)
    return click.option("--papers", metavar="ID[,ID...]",
                        help=f"Answer only from these papers (base or versioned arXiv IDs, at most "
                             f"{MAX_SCOPE_PAPERS}).")(command)


def _scope(assistant, papers: str | None, versions: str) -> list[str] | None:
    """The IDs of --papers, checked against the collection now (a bad one is one line before any answer)."""
    if papers is None:
        return None
    ids = parse_papers(papers)
    assistant.scope(ids, versions)
    return ids


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as one JSON object.")
@click.option("--history", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help='JSON list of {"role": "user"|"assistant", "content": ...} messages so far.')
@click.option("--backend", type=BACKENDS, help="Override PAPERCHAT_BACKEND.")
@_scope_options
@click.pass_obj
def ask(obj: _Context, question: str, as_json: bool, history: Path | None, backend: str | None, papers: str | None,
        versions: str) -> None:
    """Answer QUESTION from the indexed papers, citing versioned arXiv IDs."""
    messages = _read_history(history) if history else []
    assistant = _assistant(obj, backend)
    scope = _scope(assistant, papers, versions)
    if as_json:
        answer = assistant.ask(question, messages, papers=scope, versions=versions)
        click.echo(_shown(json.dumps(answer.as_json(), ensure_ascii=False)))
    else:
        _stream_to_terminal(assistant, question, messages, scope, versions)


@main.command()
@click.option("--backend", type=BACKENDS, help="Override PAPERCHAT_BACKEND.")
@_scope_options
@click.pass_obj
def chat(obj: _Context, backend: str | None, papers: str | None, versions: str) -> None:
    """A conversation in the terminal; follow-up questions use the history. Ctrl-D ends it."""
    assistant = _assistant(obj, backend)
    scope = _scope(assistant, papers, versions)
    history: list[dict] = []
    while True:
        try:
            question = click.prompt("you", prompt_suffix="> ")
        except (EOFError, click.Abort):
            click.echo()
            return
        try:
            answer = _stream_to_terminal(assistant, question, history, scope, versions)
        except UserError as exc:
            click.echo(f"paperchat: {_shown(str(exc))}", err=True)
            continue
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


def _read_history(path: Path) -> list[dict]:
    info = path.stat()
    if not stat.S_ISREG(info.st_mode):
        raise UserError(f"{path}: not a regular file; give a JSON file of messages")
    if info.st_size > MAX_HISTORY_BYTES:
        raise UserError(f"{path}: {info.st_size:,} bytes, more than {MAX_HISTORY_BYTES:,}; "
                        "keep the last messages of the conversation only")
    try:
        messages = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: not a JSON list of messages ({exc})") from None
    except RecursionError:  # json's decoder recurses once per level of [ or {
        raise UserError(f"{path}: not a JSON list of messages (nested too deeply)") from None
    if not isinstance(messages, list) or not all(
            isinstance(m, dict) and m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str)
            for m in messages):
        raise UserError(f'{path}: expected a JSON list of {{"role": "user"|"assistant", "content": "..."}}')
    return messages


@main.command()
@click.option("--history", "history_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The conversation: a --history JSON file (messages may hold their `ask --json` answer) "
                   "or a saved conversation's JSON.")
@click.option("--conversation", "conversation_id", help="A saved conversation's ID, instead of --history.")
@click.option("--user", help="Owner of --conversation: the chat's login name (default: the local user).")
@click.option("--format", "fmt", type=click.Choice(["markdown", "json"]), default="markdown", show_default=True,
              help="Markdown to read and share, or JSON: the `ask --json` object of each turn.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write here, not to stdout.")
@click.pass_obj
def export(obj: _Context, history_file: Path | None, conversation_id: str | None, user: str | None, fmt: str,
           output: Path | None) -> None:
    """Export a conversation as Markdown (citations linked to arXiv, sources listed) or JSON."""
    from ui.conversations import ConversationStore, conversation_user
    from ui.export import read_transcript, to_json, to_markdown, transcript_of

    if (history_file is None) == (conversation_id is None):
        raise click.UsageError("give one of --history FILE or --conversation ID")
    if history_file is not None:
        transcript = read_transcript(history_file)
    else:
        saved = ConversationStore.in_data_dir(obj.settings.data_dir).open(conversation_user(user), conversation_id)
        transcript = transcript_of(saved.as_json(), f"conversation {conversation_id}")
    text = _shown(to_markdown(transcript) if fmt == "markdown" else to_json(transcript))
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserError(f"{output}: cannot write the export ({exc.strerror or type(exc).__name__})") from None
    click.echo(f"wrote {output} ({len(transcript.turns)} turns, {fmt})", err=True)


@main.command()
@click.pass_obj
def stats(obj: _Context) -> None:
    """What is indexed, by which embedder, and where."""
    settings = obj.settings
    store = obj.store()
    click.echo(f"location:   {describe_location(settings)}")
    click.echo(f"collection: {settings.collection}")
    built_with = store.built_with()
    if built_with is None:
        click.echo("index:      none yet (run `paperchat ingest`)")
        return
    metas = store.as_built().metadatas()
    versions = {m["arxiv_id"] for m in metas}
    papers = {m["base_id"] for m in metas}
    languages: dict[str, int] = {}
    for m in metas:
        languages[m["language"]] = languages.get(m["language"], 0) + 1
    click.echo(f"embedder:   {built_with}" + ("" if built_with == store.embedder else
                                              f"  (configured: {store.embedder}; rebuild to use it)"))
    click.echo(f"papers:     {len(papers)} ({len(versions)} versions)")
    click.echo(f"chunks:     {len(metas)} ({', '.join(f'{n} {lang}' for lang, n in sorted(languages.items()))})")


@main.command("settings")
@click.option("--markdown", is_flag=True, help="Print the table of every setting, its default and meaning (README).")
@click.pass_obj
def settings_command(obj: _Context, markdown: bool) -> None:
    """The settings in force, one PAPERCHAT_ variable a line (secrets hidden)."""
    if markdown:
        click.echo(settings_table(), nl=False)
        return
    for name, value in obj.settings:
        click.echo(_shown(f"PAPERCHAT_{name.upper()}={'' if value is None else value}"))


# --- the chat UI ------------------------------------------------------------------

@main.command()
@click.option("--host", help="Interface to listen on (default: PAPERCHAT_HOST, else 127.0.0.1: this machine only).")
@click.option("--port", type=click.IntRange(1, 65535), help="Port (default: PAPERCHAT_PORT, else 7860).")
@click.option("--auth", metavar="USER:PASSWORD",
              help="Login required to open the chat (default: PAPERCHAT_AUTH; none). Shows in the process list: "
                   "prefer PAPERCHAT_AUTH or --auth-file.")
@click.option("--auth-file", type=click.Path(dir_okay=False, path_type=Path),
              help="A file whose first line is USER:PASSWORD (default: PAPERCHAT_AUTH_FILE).")
@click.option("--backend", type=BACKENDS, help="Default backend of the chat (override PAPERCHAT_BACKEND).")
@click.option("--backends", metavar="NAME,...",
              help="Backends users may choose in the chat (default: PAPERCHAT_BACKENDS, else only the default one).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None, auth: str | None, auth_file: Path | None,
          backend: str | None, backends: str | None) -> None:
    """Start the chat in the browser (and its API); builds the index first when there is none."""
    from pydantic import SecretStr

    from ui.access import auth_file_is_open, is_loopback, login_of
    from ui.app import build_app, launch
    from ui.service import ChatService, offered_backends

    obj: _Context = ctx.obj
    offered = [b.strip() for b in backends.split(",") if b.strip()] if backends else None
    given = {"host": host, "port": port, "auth": SecretStr(auth) if auth else None, "auth_file": auth_file,
             "backend": backend, "backends": offered}
    settings = obj.settings = with_overrides(obj.settings, **given)
    # A malformed login or backend list fails now, not after the slow start.
    login = login_of(settings)
    offered_backends(settings)
    if settings.auth_file and auth_file_is_open(settings):
        click.echo(f"paperchat: warning: {settings.auth_file} can be read by other users; chmod 600 it", err=True)
    store = obj.store()
    if not (store.exists() and store.count() > 0):
        click.echo(f"no index yet ({describe_location(settings)}): building it first", err=True)
        try:
            ctx.invoke(ingest, files=(), rebuild=False, if_missing=True)
        except SystemExit as exc:
            if exc.code:
                click.echo("paperchat: some rows were rejected (listed above); serving the others", err=True)
    if not is_loopback(settings.host) and not login:
        click.echo(f"paperchat: warning: listening on {settings.host} without --auth: anyone who can reach "
                   "this machine can use the chat and its API", err=True)
    click.echo("loading the models…", err=True)
    service = ChatService(settings, store=store)
    launch(build_app(service), host=settings.host, port=settings.port, auth=login,
           login_failures=settings.login_failures, login_lockout_seconds=settings.login_lockout_seconds,
           max_upload_bytes=settings.max_upload_bytes, service=service)


from evals.cli import eval_group  # noqa: E402  (evals uses assistant; registered last, kept apart)
main.add_command(eval_group)

if __name__ == "__main__":  # `python -m ui.cli`, as from a checkout without the entry point installed
    main()
