"""The paper picker: papers chosen in the Papers tab limit the chat's questions to them until cleared.

    Papers tab   a searchable multi-select of the collection's papers (a row of the table adds its paper),
                 newest or all versions, and "Ask about these papers"
    Chat tab     a scope line naming the chosen papers, with "Ask the whole collection" to clear it
    reopened     a saved conversation brings back the scope its last question was asked in
                 (:func:`restored_scope`, ui/sidebar.py); a new conversation starts with the whole collection

The choice lives in two gr.State values (the IDs, the versions) that ui/chat.py passes to
``ChatService.respond`` as ``papers`` and ``versions`` (assistant/scope.py).
The selection is bounded by :data:`assistant.scope.MAX_SCOPE_PAPERS`, here and in the browser.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from assistant.scope import MAX_SCOPE_PAPERS
from index.corpus import strip_control
from index.ids import parse_arxiv_id
from ui.render import scope_html
from ui.service import ChatService

VERSION_OPTIONS = [("Newest version", "newest"), ("All versions", "all")]
CHOICE_TITLE_CHARS = 90


@dataclass
class Picker:
    """The Papers tab's controls."""

    chosen: gr.Dropdown
    versions: gr.Radio
    ask: gr.Button


@dataclass
class ScopeBar:
    """The chat tab's scope line and what the questions read (``papers`` None: the whole collection)."""

    row: gr.Row
    line: gr.HTML
    clear: gr.Button
    papers: gr.State
    versions: gr.State


def picker(service: ChatService) -> Picker:
    """The picker's controls, where the Papers tab wants them."""
    choices = [(f"{p.base_id} · {_cut(strip_control(p.title))}", p.base_id) for p in service.papers]
    with gr.Group():
        chosen = gr.Dropdown(choices, value=[], multiselect=True, max_choices=MAX_SCOPE_PAPERS, filterable=True,
                             label="Papers to ask about", elem_id="pc-picker",
                             info=f"Type to search, or click a paper in the table and add it (at most "
                                  f"{MAX_SCOPE_PAPERS})")
        with gr.Row(equal_height=True):
            versions = gr.Radio(VERSION_OPTIONS, value="newest", show_label=False, scale=3, container=False)
            ask = gr.Button("Ask about these papers", variant="primary", scale=2, elem_id="pc-ask-these")
    return Picker(chosen, versions, ask)


def scope_bar() -> ScopeBar:
    """The scope line, where the chat tab wants it (hidden while questions go to the whole collection)."""
    with gr.Row(visible=False, equal_height=True, elem_id="pc-scope-row") as row:
        line = gr.HTML(scale=6)
        clear = gr.Button("Ask the whole collection", size="sm", scale=1, variant="secondary")
    return ScopeBar(row, line, clear, gr.State(None), gr.State("newest"))


def connect_picker(service: ChatService, pick: Picker, bar: ScopeBar, tabs: gr.Tabs, add: gr.Button,
                   selected: gr.State) -> None:
    """``pick.ask`` limits the chat to the chosen papers and opens it; ``bar.clear`` lifts the limit;
    ``add`` puts the paper opened in the table (``selected``, its base ID) among the chosen."""

    def ask_these(chosen: list[str] | None, versions: str):
        papers = [p for p in dict.fromkeys(chosen or []) if service.paper(str(p)) is not None]
        if not papers:
            gr.Warning("Choose at least one paper first (search the box, or open a paper in the table and add it).")
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        if len(papers) > MAX_SCOPE_PAPERS:
            gr.Warning(f"{len(papers)} papers chosen; ask about {MAX_SCOPE_PAPERS} at most at once.")
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
        versions = versions if versions in ("newest", "all") else "newest"
        line = scope_html([service.paper(p) for p in papers], versions)
        return papers, versions, gr.Row(visible=True), line, gr.Tabs(selected="chat")

    def clear():
        return None, gr.Row(visible=False), ""

    def add_selected(chosen: list[str] | None, base_id: str | None):
        chosen = list(chosen or [])
        if base_id is None or service.paper(base_id) is None or base_id in chosen:
            return gr.skip()
        if len(chosen) >= MAX_SCOPE_PAPERS:
            gr.Warning(f"At most {MAX_SCOPE_PAPERS} papers can be chosen at once.")
            return gr.skip()
        return chosen + [base_id]

    quick = {"queue": False, "api_visibility": "private"}
    pick.ask.click(ask_these, [pick.chosen, pick.versions], [bar.papers, bar.versions, bar.row, bar.line, tabs],
                   **quick)
    bar.clear.click(clear, None, [bar.papers, bar.row, bar.line], **quick)
    add.click(add_selected, [pick.chosen, selected], pick.chosen, **quick)


def restored_scope(service: ChatService, papers: list[str] | None, versions: str) -> tuple:
    """What the chat shows for a conversation asked within ``papers`` (None: the whole collection), reopened:
    updates of :func:`scope_outputs`. Papers no longer in the collection are left out, with a warning."""
    versions = versions if versions in ("newest", "all") else "newest"
    known = [p for p in papers or [] if (parsed := parse_arxiv_id(p)) and service.paper(parsed[1]) is not None]
    if papers and len(known) < len(papers):
        missing = len(papers) - len(known)
        gr.Warning(f"{missing} of this conversation's papers {'is' if missing == 1 else 'are'} no longer in the "
                   f"collection: {'asking within the others' if known else 'asking the whole collection'}.")
    if not known:
        return None, "newest", gr.Row(visible=False), "", gr.skip(), gr.skip()
    entries = list({e.base_id: e for e in (service.paper(parse_arxiv_id(p)[1]) for p in known)}.values())
    return (known, versions, gr.Row(visible=True), scope_html(entries, versions),
            [e.base_id for e in entries], versions)


def scope_outputs(pick: Picker, bar: ScopeBar) -> list:
    """The components :func:`restored_scope` updates: the scope the chat asks in, its line, the picker."""
    return [bar.papers, bar.versions, bar.row, bar.line, pick.chosen, pick.versions]


def _cut(title: str) -> str:
    return title if len(title) <= CHOICE_TITLE_CHARS else title[:CHOICE_TITLE_CHARS - 1] + "…"
