"""The chat UI (``paperchat serve``): the page's layout over a :class:`ChatService`, and serving it.

    Sidebar     the user's saved conversations: reopen, rename, delete, export (ui/sidebar.py).
    Chat tab    the chat (ui/chat.py: the answer streams in under a collapsible "Sources" message;
                the verified answer links its citations and says how many of its sentences are
                supported; a click on a sentence or its citation opens the sources at the evidence
                that supports it, ui/static/paperchat.js); thumbs up/down and a comment go to the
                feedback log; the scope line when papers were chosen; Settings below.
    Papers tab  the collection as the index holds it, a filter box, one paper's summary, and the paper
                picker (ui/picker.py): "Ask about these papers" limits the chat to the chosen ones.
    API         ``/chat`` (ui/chat.py) and ``/feedback`` (rates an answer of ``/chat``); on the same port,
                the OpenAI-compatible ``/v1/models`` and ``/v1/chat/completions`` (ui/api.py).

What is shown is built by ui/render.py from ui/templates, styled by ui/static/paperchat.css; every
piece of text from the corpus, the model or a user is shown as text (ui/display.py), and Gradio's
own sanitizer stays on behind that. Logins are throttled and uploads bounded (:func:`launch`).
"""

from __future__ import annotations

from importlib.resources import files

import gradio as gr
from pydantic import SecretStr
from starlette.middleware import Middleware

from assistant.backends import get_backend
from index.errors import UserError
from ui.access import LoginThrottle, parse_auth
from ui.api import ApiKeyThrottle, OpenAIApi
from ui.chat import CHAT_CONCURRENCY, EXAMPLES, connect_chat
from ui.papers import paper_rows
from ui.picker import connect_picker, picker, scope_bar
from ui.render import header_html, paper_html
from ui.service import ChatService
from ui.settings import Settings
from ui.sidebar import conversation_sidebar

LANGUAGES = [("Auto (the question's)", "auto"), ("English", "en"), ("中文", "zh")]
# System fonts only: the page must not fetch anything from the internet.
THEME = gr.themes.Soft(primary_hue="indigo", neutral_hue="slate",
                       font=["system-ui", "-apple-system", "Segoe UI", "Noto Sans", "sans-serif"],
                       font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"])
CSS = files("ui").joinpath("static", "paperchat.css").read_text(encoding="utf-8")
JS = files("ui").joinpath("static", "paperchat.js").read_text(encoding="utf-8")


def build_app(service: ChatService) -> gr.Blocks:
    """The whole UI over ``service``; call :func:`launch` to serve it."""
    settings = service.settings
    # Exported files are copied into Gradio's cache: kept a day at most.
    with gr.Blocks(title="paperchat", fill_height=True, analytics_enabled=False, delete_cache=(3600, 86400)) as app:
        conversation = gr.State(None)
        """The ID of the saved conversation the chat shows; None until its first answer is saved."""
        gr.HTML(header_html(len(service.papers), service.versions, settings.backend, settings.topic))
        with gr.Tabs() as tabs:
            with gr.Tab("Chat", id="chat"):
                bar = scope_bar()
                chatbot = gr.Chatbot(
                    label="paperchat", show_label=False, height="64vh", layout="bubble",
                    latex_delimiters=[], allow_tags=False, buttons=["copy"],
                    placeholder="**Ask a question about the papers.** Answers cite their sources; "
                                "open *Sources* above an answer to see the evidence the model was shown.",
                    examples=[{"text": question} for question in EXAMPLES],
                )
                with gr.Group(), gr.Row():
                    textbox = gr.Textbox(placeholder="Ask about the papers… (English or 中文)", show_label=False,
                                         submit_btn=True, stop_btn=False, scale=7)
                rated = gr.State(None)
                with gr.Row(visible=False, equal_height=True) as comment_row:
                    comment = gr.Textbox(placeholder="Thanks! Add a comment? (optional) What was right or wrong?",
                                         show_label=False, scale=6, max_lines=3, max_length=settings.max_comment_chars)
                    send_comment = gr.Button("Send comment", scale=1, variant="secondary")
                with gr.Accordion("Settings", open=False), gr.Row():
                    backend = gr.Dropdown(service.backends, value=settings.backend, label="Backend",
                                          info=" · ".join(f"{b}: {get_backend(b).description}" for b in service.backends))
                    top_k = gr.Slider(1, 10, value=settings.top_k, step=1, label="Number of sources",
                                      info="Papers whose evidence the model is shown")
                    language = gr.Radio(LANGUAGES, value="auto", label="Answer language",
                                        info="Auto answers in the language of the question")
                changed = connect_chat(service, chatbot, textbox, [backend, top_k, language],
                                       [bar.papers, bar.versions], conversation)

            with gr.Tab("Papers", id="papers"):
                gr.Markdown(f"The {len(service.papers)} papers of the collection, as indexed. Click one to read its "
                            "summary, or ask about it in the chat.", elem_classes="pc-intro")
                with gr.Row():
                    with gr.Column(scale=3):
                        paper_filter = gr.Textbox(placeholder="Filter by ID, title or words of the summary",
                                                  show_label=False)
                        table = gr.Dataframe(
                            value=paper_rows(service.papers), headers=["ID", "Versions", "Title", "Language"],
                            datatype=["str", "str", "str", "str"], interactive=False, wrap=True,
                            max_height=560, column_widths=["16%", "13%", "56%", "15%"], elem_id="pc-papers-table",
                            show_search="none")
                    with gr.Column(scale=2):
                        pick = picker(service)
                        with gr.Row():
                            add = gr.Button("Add to the papers to ask about", visible=False, variant="secondary",
                                            size="md")
                            ask_about = gr.Button("Ask about this paper in the chat", visible=False,
                                                  variant="secondary", size="md")
                        summary = gr.HTML('<p class="pc-wait">Select a paper to read its summary.</p>')
                        selected = gr.State(None)
        conversation_sidebar(service, chatbot, conversation, changed, app, pick, bar)
        connect_picker(service, pick, bar, tabs, add, selected)

        def on_like(history: list[dict], data: gr.LikeData):
            answer_id = service.answer_id_at(history, data.index)
            verdict = {True: "up", False: "down", "Like": "up", "Dislike": "down"}.get(data.liked)
            if answer_id is None or verdict is None:
                return gr.skip(), gr.skip()
            service.record_feedback(answer_id, verdict)
            gr.Info("Thanks, your feedback was recorded.", duration=3)
            return gr.Row(visible=True), {"answer_id": answer_id, "verdict": verdict}

        def on_comment(text: str, rating: dict | None):
            if rating and text.strip():
                try:
                    service.record_feedback(rating["answer_id"], rating["verdict"], text)
                except UserError as exc:
                    gr.Warning(str(exc))
                    return gr.skip(), gr.skip()
                gr.Info("Comment recorded. Thank you!", duration=3)
            return gr.Row(visible=False), gr.Textbox(value="")

        chatbot.like(on_like, [chatbot], [comment_row, rated], queue=False, api_visibility="private")
        gr.on([send_comment.click, comment.submit], on_comment, [comment, rated], [comment_row, comment], queue=False,
              api_visibility="private")
        chatbot.clear(lambda: (gr.Row(visible=False), None), None, [comment_row, rated], queue=False,
                      api_visibility="private")

        def on_filter(query: str):
            return paper_rows(service.find_papers(query))

        def on_select(evt: gr.SelectData):
            row = evt.row_value or []
            paper = service.paper(str(row[0])) if row else None
            if paper is None:
                return gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return (paper_html(paper, service.paper_sections(paper)), gr.Button(visible=True), gr.Button(visible=True),
                    paper.base_id)

        def on_ask(base_id: str | None):
            paper = service.paper(base_id) if base_id else None
            if paper is None:
                return gr.skip(), gr.skip()
            return gr.Textbox(value=f"What is arXiv {paper.versions[-1]} about?"), gr.Tabs(selected="chat")

        paper_filter.change(on_filter, paper_filter, table, queue=False, api_visibility="private")
        table.select(on_select, None, [summary, ask_about, add, selected], queue=False, api_visibility="private")
        ask_about.click(on_ask, selected, [textbox, tabs], queue=False, api_visibility="private")

        def feedback(answer_id: str, verdict: str, comment: str = "") -> str:
            """Rate an answer returned by /chat: verdict "up" or "down", an optional comment."""
            try:
                service.record_feedback(answer_id, verdict, comment)
            except UserError as exc:
                raise gr.Error(str(exc)) from None
            return "recorded"

        gr.api(feedback, api_name="feedback")
    # No bound here: questions leave Gradio's queue at once for ChatService.admission, which turns away what
    # does not fit with a message of its own (Gradio's full queue is an error popup before our code runs).
    app.queue(max_size=None, default_concurrency_limit=CHAT_CONCURRENCY)
    return app


_DEFAULTS = Settings.model_fields


def launch(app: gr.Blocks, *, host: str, port: int, auth: str | SecretStr | tuple[str, str] | None = None,
           block: bool = True, login_failures: int = _DEFAULTS["login_failures"].default,
           login_lockout_seconds: float = _DEFAULTS["login_lockout_seconds"].default,
           max_upload_bytes: int = _DEFAULTS["max_upload_bytes"].default,
           service: ChatService | None = None) -> gr.Blocks:
    """Serve ``app`` on ``host:port``; ``block=False`` returns once the server is up (tests).

    Logins are throttled per client (:class:`LoginThrottle`) and uploads larger than ``max_upload_bytes``
    are refused (HTTP 413). Given the ``service`` that ``app`` was built over, the same server answers the
    OpenAI-compatible API (ui/api.py), its wrong keys throttled like logins.
    """
    pair = auth if isinstance(auth, tuple) else parse_auth(auth)
    throttles = [Middleware(LoginThrottle, failures=login_failures, lockout_seconds=login_lockout_seconds)]
    routes = []
    if service is not None:
        routes = OpenAIApi(service, service.settings.api_key, login_required=pair is not None).routes
        throttles.append(Middleware(ApiKeyThrottle, failures=login_failures, lockout_seconds=login_lockout_seconds))
    try:
        # Routes given to the app when it is made come before Gradio's own.
        app.launch(server_name=host, server_port=port, auth=pair, theme=THEME, css=CSS, js=JS,
                   prevent_thread_lock=not block, show_error=True, quiet=not block, footer_links=["api"],
                   ssr_mode=False, max_file_size=max_upload_bytes,
                   app_kwargs={"middleware": throttles, "routes": routes})
    except OSError as exc:
        if "port" not in str(exc):
            raise
        raise UserError(f"cannot listen on {host}:{port} (in use?); choose another port with --port") from None
    return app
