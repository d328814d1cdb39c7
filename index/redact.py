"""Secrets that travel inside URLs, removed before a URL is shown or logged.

Server addresses are settings (``PAPERCHAT_CHROMA_URL``, ``PAPERCHAT_OPENAI_BASE_URL``,
``PAPERCHAT_OLLAMA_URL``), and people put credentials in them
(``http://user:password@host/``, ``?api_key=...``). Those URLs appear in
messages that reach users of a shared chat and in logs, and client libraries
quote them in their own exception messages, so whole message texts are
redacted too, not only the settings.
"""

from __future__ import annotations

import re

_USERINFO_RE = re.compile(r"(?P<scheme>\b[a-z][a-z0-9+.\-]*://)[^/?#\s@]+@", re.IGNORECASE)
_SECRET_PARAM_RE = re.compile(
    r"(?P<name>[?&;](?:api[_-]?key|key|token|access[_-]?token|auth|password|passwd|pwd|secret|sig|signature)=)"
    r"[^&;#\s]+", re.IGNORECASE)
REDACTED = "***"


def redact(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced by ``***``.

    ``http://user:pw@host:9/v1?api_key=k`` becomes ``http://***@host:9/v1?api_key=***``; the rest of the
    URL stays, so the message still says which server it is about.
    """
    text = _USERINFO_RE.sub(lambda m: f"{m['scheme']}{REDACTED}@", text)
    return _SECRET_PARAM_RE.sub(lambda m: f"{m['name']}{REDACTED}", text)
