"""Settings of the chat server (`paperchat serve`): the whole program's settings plus where and how it serves.

The same ``PAPERCHAT_`` variables as always (``PAPERCHAT_HOST``, ``PAPERCHAT_AUTH``,
...): the fields only live next to the layer that reads them. The command line
reads this class, so one object still carries every setting.
"""

from __future__ import annotations

import re
from pathlib import Path

from platformdirs import user_cache_dir, user_data_dir
from pydantic import NonNegativeInt, PositiveInt, SecretStr, field_validator

from assistant.settings import Settings as AssistantSettings
from assistant.settings import registered_backend
from index.settings import BUNDLED_CORPUS


class Settings(AssistantSettings):
    host: str = "127.0.0.1"
    """Interface the chat listens on; the default is reachable from this machine only."""
    port: int = 7860
    """Port of the chat and its API."""
    auth: SecretStr | None = None
    """``user:password`` required to open the chat; unset means no login. ``--auth`` on the command line shows
    in the process list: prefer this variable, or ``auth_file``."""
    auth_file: Path | None = None
    """A file whose first line is ``user:password`` (keep it 0600), instead of ``auth``."""
    backends: list[str] | None = None
    """Backends the chat offers its users (``--backends extractive,openai``; as JSON in the environment:
    ``PAPERCHAT_BACKENDS='["extractive","openai"]'``). Unset: only ``backend``. Each one costs what it
    costs to load (``local``: a 1.1 GB model), so the operator decides, not the users."""
    answers_at_once: PositiveInt = 4
    """Questions answered at the same time, in the chat and through the OpenAI-compatible API together
    (retrieval runs in parallel; the local model writes one answer at a time and the others are told they wait)."""
    queue_size: NonNegativeInt = 16
    """Questions that may wait for one of the `answers_at_once` slots; beyond that a new question is turned away
    at once: the chat says it is busy and how many questions are ahead, the API answers HTTP 429 with
    `Retry-After`."""
    answers_per_client: PositiveInt = 8
    """Questions one client (an IP address, as for the login throttle) may have answered or waiting at once, so that
    one user cannot take every slot; keep it below `answers_at_once` + `queue_size`."""
    api_key: SecretStr | None = None
    """Bearer key the OpenAI-compatible API (`/v1/chat/completions`, `/v1/models`) requires. Unset: the API is open
    when the chat has no login, and refused (401) when it has one."""
    login_failures: int = 5
    """Wrong logins (or API requests without a valid key) a client (an IP address) may make in a row before it must
    wait ``login_lockout_seconds``."""
    login_lockout_seconds: float = 60.0
    """How long a client that failed ``login_failures`` times is refused (HTTP 429) without its password being
    checked; it doubles with each further failure, up to an hour."""
    max_upload_bytes: int = 1_048_576
    """Largest file the server accepts on its upload route (the chat needs none; Gradio has the route anyway)."""
    max_comment_chars: int = 2000
    """Longest feedback comment; a longer one is refused with a message."""

    @field_validator("backends")
    @classmethod
    def _registered_backends(cls, names: list[str] | None) -> list[str] | None:
        return None if names is None else [registered_backend(name) for name in names]

    @property
    def feedback_path(self) -> Path:
        return self.data_dir / "feedback.jsonl"


# Defaults that differ between machines, as the table names them.
_PER_MACHINE = {
    str(BUNDLED_CORPUS): "the bundled collection",
    user_data_dir("paperchat"): "per-user data folder (Linux: `~/.local/share/paperchat`)",
    user_cache_dir("paperchat"): "per-user cache folder (Linux: `~/.cache/paperchat`)",
}


def settings_table(settings: type[Settings] = Settings) -> str:
    """Every setting as a markdown table row (variable, default, meaning) from the fields' own descriptions.

    ``paperchat settings --markdown`` prints it; the README holds a copy that a test keeps equal.
    """
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in settings.model_fields.items():
        meaning = re.sub(r"``(.+?)``", r"`\1`", " ".join((field.description or "").split())).replace("|", r"\|")
        rows.append(f"| `PAPERCHAT_{name.upper()}` | {_default_text(field.default)} | {meaning} |")
    return "\n".join(rows) + "\n"


def _default_text(default) -> str:
    if default is None:
        return "unset"
    if isinstance(default, list):
        return ", ".join(_default_text(item) for item in default)
    if isinstance(default, SecretStr):
        default = default.get_secret_value()
    text = str(default)
    return _PER_MACHINE.get(text) or f"`{text}`"
