"""The conversations sidebar: the user's saved conversations, listed, reopened, renamed, deleted, exported.

    list        the user's conversations (the login name with ``--auth``, else the local user), most recent
                first; choosing one shows it in the chat, where follow-up questions continue it, within the
                papers its last question was limited to (the scope line and the picker show them again)
    new         an empty chat over the whole collection; it is saved (and named after its first question) once
                a question is answered
    rename      the name box and "Rename" (or Enter) rename the conversation shown
    delete      "Delete" asks first; "Delete it" removes the conversation shown and the chat empties, "Keep it"
                (or showing another conversation) leaves it
    export      "Markdown" and "JSON" download the conversation shown (ui/export.py), as ``paperchat export``

Conversations are stored by ui/conversations.py (every size bounded there: a name is at most
``ConversationLimits.title_chars`` characters, here too); shown again by ui/history.py.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import gradio as gr

from index.errors import UserError
from ui.chat import user_of
from ui.history import chat_messages, export_files
from ui.picker import Picker, ScopeBar, restored_scope, scope_outputs
from ui.service import ChatService


def conversation_sidebar(service: ChatService, chatbot: gr.Chatbot, conversation: gr.State, changed: list,
                         app: gr.Blocks, pick: Picker, bar: ScopeBar) -> None:
    """Lay out the sidebar and connect it: ``conversation`` holds the ID of the conversation shown (None: a new
    one); ``changed`` are the chat's events after which that conversation has changed (ui/chat.py); ``pick`` and
    ``bar`` are the picker and the scope line (ui/picker.py), which a reopened conversation sets."""
    store = service.conversations
    exports = Path(tempfile.mkdtemp(prefix="paperchat-export-"))
    with gr.Sidebar(label="Conversations", open=True, elem_id="pc-sidebar"):
        new = gr.Button("New conversation", variant="primary", size="md")
        listing = gr.Radio([], value=None, label="Saved conversations", elem_id="pc-conversations",
                           info="Choose one to reopen it")
        with gr.Group():
            title = gr.Textbox(label="Name of this conversation", max_length=store.limits.title_chars,
                               max_lines=1, elem_id="pc-title", interactive=False)
            with gr.Row():
                rename = gr.Button("Rename", size="sm", interactive=False)
                delete = gr.Button("Delete", size="sm", variant="stop", interactive=False)
        with gr.Column(visible=False, elem_id="pc-confirm-delete") as confirming:
            gr.Markdown("Delete this conversation? It cannot be brought back.")
            with gr.Row():
                confirm = gr.Button("Delete it", size="sm", variant="stop")
                cancel = gr.Button("Keep it", size="sm")
        gr.Markdown("**Export this conversation**", elem_classes="pc-export-label")
        with gr.Row():
            markdown = gr.DownloadButton("Markdown", size="sm", interactive=False, elem_id="pc-export-md")
            json_file = gr.DownloadButton("JSON", size="sm", interactive=False, elem_id="pc-export-json")

    def shown(conversation_id: str | None, request: gr.Request):
        """The sidebar for the conversation shown: the list (it chosen), its name, the buttons, the exports."""
        user = user_of(request)
        try:
            saved = store.list(user)
            current = next((c for c in saved if c.id == conversation_id), None)
            files = export_files(store, user, current.id, exports) if current else (None, None)
        except UserError as exc:
            gr.Warning(str(exc))
            return (gr.skip(),) * 7
        choices = [(_label(c.title, c.turns), c.id) for c in saved]
        active = {"interactive": current is not None}
        return (gr.Radio(choices, value=current.id if current else None),
                gr.Textbox(value=current.title if current else "", **active),
                gr.Button(**active), gr.Button(**active),
                gr.DownloadButton(value=files[0], **active), gr.DownloadButton(value=files[1], **active),
                gr.Column(visible=False))

    sidebar = [listing, title, rename, delete, markdown, json_file, confirming]
    shows = [chatbot, conversation, *scope_outputs(pick, bar)]
    """What showing a conversation sets: the chat, its ID, and the scope it is asked in."""
    # Refreshing the sidebar takes milliseconds: no progress overlay flashing over it.
    quick = {"queue": False, "api_visibility": "private", "show_progress": "hidden"}

    def reopen(conversation_id: str | None, request: gr.Request):
        if not conversation_id:
            return (gr.skip(),) * len(shows)
        try:
            saved = store.open(user_of(request), conversation_id)
        except UserError as exc:
            gr.Warning(str(exc))
            return (gr.skip(),) * len(shows)
        return chat_messages(saved), saved.id, *restored_scope(service, saved.papers, saved.versions)

    def start_new():
        return [], None, *restored_scope(service, None, "newest")

    def do_rename(conversation_id: str | None, name: str, request: gr.Request):
        if conversation_id:
            try:
                store.rename(user_of(request), conversation_id, name)
            except UserError as exc:
                gr.Warning(str(exc))

    def do_delete(conversation_id: str | None, request: gr.Request):
        if not conversation_id:
            return (gr.skip(),) * len(shows)
        try:
            store.delete(user_of(request), conversation_id)
        except UserError as exc:
            gr.Warning(str(exc))
            return (gr.skip(),) * len(shows)
        gr.Info("Conversation deleted.", duration=3)
        return start_new()

    app.load(shown, conversation, sidebar, **quick)
    for event in changed:
        event.then(shown, conversation, sidebar, **quick)
    listing.input(reopen, listing, shows, **quick).then(shown, conversation, sidebar, **quick)
    gr.on([new.click, chatbot.clear], start_new, None, shows, **quick).then(shown, conversation, sidebar, **quick)
    gr.on([rename.click, title.submit], do_rename, [conversation, title], None, **quick).then(
        shown, conversation, sidebar, **quick)
    delete.click(lambda: gr.Column(visible=True), None, confirming, **quick)
    cancel.click(lambda: gr.Column(visible=False), None, confirming, **quick)
    confirm.click(do_delete, conversation, shows, **quick).then(shown, conversation, sidebar, **quick)


def _label(title: str, turns: int) -> str:
    return f"{title} · {turns} question{'s' if turns != 1 else ''}"

