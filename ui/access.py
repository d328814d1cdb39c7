"""Who may use the chat: the login (``--auth`` / ``--auth-file``), the throttle in front of it, and
whether the server listens beyond this machine.

A client that fails ``Settings.login_failures`` logins in a row waits (:class:`LoginThrottle`).
"""

from __future__ import annotations

import ipaddress
import math
import stat
import time
from collections import OrderedDict
from pathlib import Path

from pydantic import SecretStr
from starlette.responses import JSONResponse, Response

from index.errors import UserError
from ui.settings import Settings

MAX_AUTH_FILE_BYTES = 4096


def parse_auth(auth: str | SecretStr | None) -> tuple[str, str] | None:
    """``user:password`` as Gradio's auth pair; None when unset."""
    if isinstance(auth, SecretStr):
        auth = auth.get_secret_value()
    if not auth:
        return None
    user, sep, password = auth.partition(":")
    if not sep or not user or not password:
        raise UserError("--auth (PAPERCHAT_AUTH) must look like user:password")
    return user, password


def login_of(settings: Settings) -> tuple[str, str] | None:
    """The login the chat requires: ``auth``, or the first line of ``auth_file``; None for no login."""
    if settings.auth and settings.auth_file:
        raise UserError("give the login once: --auth (PAPERCHAT_AUTH) or --auth-file (PAPERCHAT_AUTH_FILE)")
    if not settings.auth_file:
        return parse_auth(settings.auth)
    path = Path(settings.auth_file)
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_AUTH_FILE_BYTES:
            raise UserError(f"{path}: the auth file must be a small regular file holding user:password")
        first = (path.read_text(encoding="utf-8").splitlines() or [""])[0].strip()
    except OSError as exc:
        raise UserError(f"{path}: cannot read the auth file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: the auth file is not UTF-8 text") from None
    if not first:
        raise UserError(f"{path}: the auth file is empty; its first line must be user:password")
    try:
        return parse_auth(first)
    except UserError:
        raise UserError(f"{path}: the first line of the auth file must look like user:password") from None


def auth_file_is_open(settings: Settings) -> bool:
    """Whether the auth file can be read by other users (serve warns)."""
    return bool(settings.auth_file) and bool(Path(settings.auth_file).stat().st_mode & 0o077)


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LoginThrottle:
    """ASGI middleware in front of Gradio's ``/login``: a client that fails ``failures`` logins in a row is
    refused (HTTP 429, ``Retry-After``) for ``lockout_seconds``, doubling with each further failure up to
    an hour, without its password being checked. A successful login clears its count.

    A client is an IP address: behind a reverse proxy every user is the proxy's address, so put the
    throttle in the proxy there. What counts as an attempt (:meth:`guards`, :attr:`FAILED`) and what a
    waiting client is told (:meth:`refusal`) are methods, so the API key's throttle (ui/api.py) is this one.
    """

    MAX_LOCKOUT = 3600.0
    MAX_CLIENTS = 10_000
    """Clients remembered (the oldest forgotten first), so a flood of addresses cannot fill memory."""

    def __init__(self, app, failures: int, lockout_seconds: float):
        self.app = app
        self.failures = max(1, failures)
        self.lockout_seconds = lockout_seconds
        self._clients: OrderedDict[str, tuple[int, float]] = OrderedDict()
        """Per client: failed logins in a row, and until when (monotonic) it is refused."""

    FAILED = (400, 401, 403)
    """Statuses that count as a failed attempt (Gradio answers a wrong login with 400)."""

    def guards(self, scope) -> bool:
        """Whether this request is an attempt the throttle counts: a login."""
        return scope["method"] == "POST" and scope["path"].rstrip("/").endswith("/login")

    def refusal(self, seconds: str) -> Response:
        """What a client that must wait is told."""
        return JSONResponse({"detail": f"Too many failed logins: try again in {seconds} s."},
                            status_code=429, headers={"Retry-After": seconds})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not self.guards(scope):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown",))[0]
        failed, until = self._clients.get(client, (0, 0.0))
        wait = until - time.monotonic()
        if wait > 0:
            await self.refusal(str(math.ceil(wait)))(scope, receive, send)
            return
        status: list[int] = []

        async def send_and_see(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, send_and_see)
        if status and status[0] < 300:
            self._clients.pop(client, None)
        elif status and status[0] in self.FAILED:
            failed += 1
            until = 0.0
            if failed >= self.failures:
                until = time.monotonic() + min(self.lockout_seconds * 2 ** (failed - self.failures), self.MAX_LOCKOUT)
            self._clients[client] = (failed, until)
            self._clients.move_to_end(client)
            while len(self._clients) > self.MAX_CLIENTS:
                self._clients.popitem(last=False)
