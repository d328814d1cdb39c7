"""Our own count of the answers being written and waiting, in front of the chat and the OpenAI-compatible API.

Gradio's queue only sees the browser's questions and, when full, shows its own "Queue is full" popup
before any of our code runs. Counting here instead lets both doors share one limit and say what is
going on: a question is *running* (one of ``Settings.answers_at_once``), *waiting* for a running slot
(up to ``Settings.queue_size``), or turned away at once with how many are ahead (:class:`Busy`); the chat
shows that as a message in the user's language, the API as HTTP 429 with ``Retry-After``. One client
(an IP address, as for the login throttle) holds at most ``Settings.answers_per_client`` of the slots.

Everything here runs on the server's event loop (the chat's answer handlers and the API routes are
async), so the count needs no lock; waiting is an ``await``, not a thread.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

BUSY = {
    "en": "Busy: {ahead} questions ahead of you, try again in a moment.",
    "zh": "服务繁忙：前面还有 {ahead} 个问题，请稍后再试。",
}
BUSY_CLIENT = {
    "en": "Busy: {mine} of your questions are still being answered; ask again when one of them is done.",
    "zh": "您还有 {mine} 个问题正在回答或排队，请等其中一个完成后再问。",
}
WAITING = {
    "en": "Waiting: {ahead} question{s} ahead of yours…",
    "zh": "排队中：前面还有 {ahead} 个问题…",
}
DEFAULT_ANSWER_SECONDS = 5.0
"""Assumed length of an answer until one has been timed, for ``Retry-After``."""
MAX_RETRY_AFTER = 120


@dataclass
class Busy(Exception):
    """No room for another question: ``ahead`` are running or waiting (``mine`` of them this client's)."""

    ahead: int
    mine: int
    per_client: bool
    """Turned away because this client holds its share, not because the server is full."""
    retry_after: int
    """Seconds after which a retry has a fair chance."""

    def __str__(self) -> str:
        return self.message()

    def message(self, language: str = "en") -> str:
        language = language if language in BUSY else "en"
        if self.per_client:
            return BUSY_CLIENT[language].format(mine=self.mine)
        return BUSY[language].format(ahead=self.ahead)


class Ticket:
    """One admitted question: waiting until :meth:`Admission.turn` grants it a running slot, then running
    until :meth:`Admission.leave`."""

    def __init__(self, client: str):
        self.client = client
        self.running = False
        self.started = 0.0
        self.changed = asyncio.Event()


class Admission:
    """The count of running and waiting questions, with a per-client share (see the module docstring)."""

    def __init__(self, answers_at_once: int, queue_size: int, per_client: int):
        self.answers_at_once = max(1, answers_at_once)
        self.queue_size = max(0, queue_size)
        self.per_client = max(1, per_client)
        self._running: set[Ticket] = set()
        self._waiting: deque[Ticket] = deque()
        self._per_client: dict[str, int] = {}
        self._answer_seconds = DEFAULT_ANSWER_SECONDS
        """Moving average of how long a running question holds its slot."""

    @property
    def capacity(self) -> int:
        return self.answers_at_once + self.queue_size

    @property
    def held(self) -> int:
        """Questions running or waiting."""
        return len(self._running) + len(self._waiting)

    def enter(self, client: str) -> Ticket:
        """Count a new question of ``client``; raises :class:`Busy` when there is no room for it."""
        mine = self._per_client.get(client, 0)
        if self.held >= self.capacity or mine >= self.per_client:
            raise Busy(self.held, mine, mine >= self.per_client, self._retry_after())
        ticket = Ticket(client)
        self._per_client[client] = mine + 1
        self._waiting.append(ticket)
        self._promote()
        return ticket

    def ahead_of(self, ticket: Ticket) -> int:
        """Questions that will be answered before ``ticket``'s (0 once it runs)."""
        if ticket.running:
            return 0
        return len(self._running) + self._waiting.index(ticket)

    async def turn(self, ticket: Ticket) -> AsyncIterator[int]:
        """Wait until ``ticket`` runs; yields the number of questions ahead of it whenever that changes
        (first at once), and returns when it runs (at once when a slot is free)."""
        while not ticket.running:
            ticket.changed.clear()
            yield self.ahead_of(ticket)
            if not ticket.running:
                await ticket.changed.wait()

    def leave(self, ticket: Ticket) -> None:
        """``ticket``'s question is done, failed or cancelled: free its place (twice is harmless)."""
        if ticket in self._running:
            self._running.discard(ticket)
            took = time.monotonic() - ticket.started
            self._answer_seconds = 0.8 * self._answer_seconds + 0.2 * took
        elif ticket in self._waiting:
            self._waiting.remove(ticket)
        else:
            return
        left = self._per_client[ticket.client] - 1
        if left:
            self._per_client[ticket.client] = left
        else:
            del self._per_client[ticket.client]
        self._promote()
        for waiting in self._waiting:
            waiting.changed.set()

    def _promote(self) -> None:
        while self._waiting and len(self._running) < self.answers_at_once:
            ticket = self._waiting.popleft()
            ticket.running, ticket.started = True, time.monotonic()
            self._running.add(ticket)
            ticket.changed.set()

    def _retry_after(self) -> int:
        """Seconds until a slot is likely free: the waiting questions' share of the running slots' time."""
        rounds = (len(self._waiting) // self.answers_at_once) + 1
        return max(1, min(MAX_RETRY_AFTER, math.ceil(self._answer_seconds * rounds)))
