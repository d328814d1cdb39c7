"""The chat's behaviour, from Gradio's public components and events (a gr.Chatbot and a gr.Textbox).

Not gr.ChatInterface: it puts what a user typed into the chat as markdown with HTML, and escaping
that meant overriding two of its private methods, which an upgrade could stop calling without a
word. Here every message enters the chat through this module, a question always through
:func:`ui.display.to_display`, and leaves it through :func:`ui.display.from_display`.

    ask       Enter or the send button: the question enters the chat and the textbox waits; then
              ChatService.respond streams the sources panel and the answer; then the textbox is free
    retry     the last question again, in place of its answer
    undo      the last question back into the textbox, its answer gone
    example   one of EXAMPLES, clicked in the empty chat, is asked
    stop      the textbox's stop button cancels the answer being written
    scope     the papers chosen in the Papers tab (ui/picker.py) limit every question until cleared
    saved     each answered question is saved in the user's current conversation (a new one at the first
              answer; ui/history.py); retry and undo take the saved turn back too
    /chat     the same answer for API clients (``gradio_client``): the new messages and the answer as
              ``paperchat ask --json`` prints it, plus the ``answer_id`` that ``/feedback`` takes; a
              gr.State keeps each client's conversation, so follow-ups work there too. ``papers`` (a list of
              arXiv IDs, or one string of them separated by commas as ``--papers`` takes) and ``versions``
              limit the answer as the picker does; a wrong ID is one line of error (gradio_client's AppError)
              before any answer, checked as the OpenAI-compatible API checks ``paperchat.papers``
"""

from __future__ import annotations

import gradio as gr

from assistant.scope import VERSION_CHOICES, ScopeError, parse_papers, requested_papers
from index.errors import UserError
from ui.conversations import conversation_user
from ui.display import from_display, message_text, to_display
from ui.history import questions_in, save_turn
from ui.service import ChatService

EXAMPLES = [
    "Which paper uses LLM feedback as a reward for ASR domain adaptation?",
    "Is there a dataset for detecting hate speech that targets children?",
    "有没有论文在CTC语音识别模型的中间层引入大语言模型的语言知识作为辅助损失？",
    "哪篇论文把口吃现象作为显式标记转录出来？",
]
CHAT_CONCURRENCY = 4
"""Gradio's limit for the page's other queued events. Questions are not limited by Gradio: its queue hands
them over at once and :class:`ui.admission.Admission` (``ChatService.admission``, shared with the
OpenAI-compatible API) decides which run, which wait and which are told the server is busy."""


def user_of(request: gr.Request | None) -> str:
    """Whose conversations these are: the login name with ``--auth``, else the local user."""
    return conversation_user(getattr(request, "username", None))


def client_of(request: gr.Request | None) -> str:
    """Who asks, for the admission count: the IP address, as the login throttle counts clients."""
    return request.client.host if request is not None and request.client else "unknown"


def question_message(text: str) -> dict:
    """A user's question as a chat message that shows exactly what was typed."""
    return {"role": "user", "content": to_display(text)}


def last_question(history: list[dict]) -> tuple[list[dict], str]:
    """``history`` without its last question and the answer to it, and that question as typed."""
    end = len(history)
    while end and history[end - 1].get("role") == "assistant":
        end -= 1
    start = end
    while start and history[start - 1].get("role") == "user":
        start -= 1
    return history[:start], "".join(from_display(message_text(m)) for m in history[start:end])


def _message_dict(message: gr.ChatMessage) -> dict:
    return {"role": message.role, "content": message.content, "metadata": message.metadata}


def _waiting() -> gr.Textbox:
    return gr.Textbox(value="", interactive=False, submit_btn=False, stop_btn=True)


def _free() -> gr.Textbox:
    return gr.Textbox(interactive=True, submit_btn=True, stop_btn=False)


def connect_chat(service: ChatService, chatbot: gr.Chatbot, textbox: gr.Textbox, options: list, scope: list,
                 conversation: gr.State) -> list:
    """Give ``chatbot`` and ``textbox`` (made with ``submit_btn=True, stop_btn=False``) the behaviour above.

    Call inside the app's gr.Blocks; ``options`` are the backend, number-of-sources and language inputs, ``scope``
    the chosen papers and versions (gr.State), ``conversation`` the ID of the saved conversation shown (gr.State,
    None for a new one). Returns the events after which the saved conversation has changed (answered, undone).
    """
    asked = gr.State("")
    """The question being answered, as typed."""

    def take_back(history: list[dict], conversation_id: str | None, request: gr.Request | None) -> None:
        """Remove the last saved turn when it is the one shown last (an error answer was never saved)."""
        if conversation_id:
            try:
                service.conversations.drop_last_turn(user_of(request), conversation_id, questions_in(history))
            except UserError as exc:
                gr.Warning(str(exc))

    def ask(text: str, history: list[dict]):
        return _waiting(), text, [*history, question_message(text)]

    def retry(history: list[dict], conversation_id: str | None, request: gr.Request):
        take_back(history, conversation_id, request)
        earlier, text = last_question(history)
        return _waiting(), text, [*earlier, question_message(text)]

    def example(selected: gr.SelectData):
        return _waiting(), selected.value["text"], [question_message(selected.value["text"])]

    async def answer(text: str, history: list[dict], backend: str, top_k: float, language: str,
                     papers: list[str] | None, versions: str, conversation_id: str | None, request: gr.Request):
        # The chat shows the question already; the engine gets the conversation before it.
        answered = None
        async for messages, answer_json in service.respond_admitted(client_of(request), text, history[:-1], backend,
                                                                    top_k, language, papers, versions):
            if isinstance(answer_json, dict) and "answer" in answer_json:
                answered = answer_json
            yield [*history, *messages], gr.skip()
        if answered is not None:
            try:
                yield gr.skip(), save_turn(service.conversations, user_of(request), conversation_id, text, answered,
                                           papers, versions)
            except UserError as exc:
                gr.Warning(f"The answer was not saved: {exc}")

    def undo(history: list[dict], conversation_id: str | None, request: gr.Request):
        take_back(history, conversation_id, request)
        return last_question(history)

    quick = {"queue": False, "api_visibility": "private"}
    answering = []
    for trigger, start, inputs in ((textbox.submit, ask, [textbox, chatbot]),
                                   (chatbot.retry, retry, [chatbot, conversation]),
                                   (chatbot.example_select, example, None)):
        event = trigger(start, inputs, [textbox, asked, chatbot], **quick).then(
            answer, [asked, chatbot, *options, *scope, conversation], [chatbot, conversation],
            api_visibility="private", show_progress="minimal", concurrency_limit=None)
        answering.append(event)
    done = [event.then(_free, None, textbox, **quick) for event in answering]
    textbox.stop(_free, None, textbox, cancels=answering, **quick)
    done.append(chatbot.undo(undo, [chatbot, conversation], [chatbot, textbox], **quick))

    # The API: a hidden trigger, so that the endpoint has components (a State among them) and not the page's.
    history = gr.State([])
    papers_in = gr.JSON(None, visible=False, label="papers")
    versions_in = gr.Textbox("newest", visible=False, label="versions")
    messages_out = gr.JSON(visible=False, label="messages")
    answer_out = gr.JSON(visible=False, label="answer")

    async def chat(message: str, history: list[dict], backend: str | None = None, top_k: float | None = None,
                   language: str | None = None, papers: list[str] | str | None = None, versions: str = "newest",
                   request: gr.Request = None):
        versions = versions or "newest"
        if isinstance(papers, str):
            papers = parse_papers(papers) or None
        try:
            if versions not in VERSION_CHOICES:
                raise ScopeError(f"'versions' must be {' or '.join(map(repr, VERSION_CHOICES))}")
            if papers is not None:
                papers = requested_papers(papers, versions, service.scope)
        except ScopeError as exc:
            raise gr.Error(str(exc), print_exception=False) from None
        conversation = [*history, question_message(message)]
        async for messages, answer_json in service.respond_admitted(client_of(request), message, history, backend,
                                                                    top_k, language, papers, versions):
            yield messages, [*conversation, *map(_message_dict, messages)], answer_json

    gr.Button(visible=False).click(
        chat, [textbox, history, *options, papers_in, versions_in], [messages_out, history, answer_out],
        api_name="chat",
        api_description="Answer a question about the papers, only from `papers` when given (arXiv IDs; `versions`: "
                        "newest or all); returns the chat messages and the answer as JSON (answer, citations, "
                        "sources, scope, timings, answer_id).",
        concurrency_limit=None, postprocess=False)
    return done
