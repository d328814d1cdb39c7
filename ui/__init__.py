"""People-facing layer: the `paperchat` command line (and, later, the chat UI)."""
