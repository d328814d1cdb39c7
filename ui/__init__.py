"""People-facing layer: the `paperchat` command line and the Gradio chat UI."""

import os

# The program never phones home, however it is started: the Makefile's exports are not there when someone
# runs `paperchat serve` directly, and Gradio's analytics (a version check and usage reports) default to on.
# Set here, before anything imports gradio or chromadb; the app also turns Gradio's analytics off itself.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
