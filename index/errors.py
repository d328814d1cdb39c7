"""Errors a user can cause and fix: shown as one line, without a traceback."""


class UserError(Exception):
    """Something the user can fix; the message says what happened and what to do."""


class EmbedderMismatch(UserError):
    """The index was built with a different embedding model than the one configured."""
