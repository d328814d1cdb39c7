"""People-facing layer: the `paperchat` command line and the Gradio chat UI."""
