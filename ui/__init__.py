"""People-facing layer: the `paperchat` command line and the Gradio chat UI.

The offline and no-telemetry environment is set by the ``index`` package, which everything imports first.
"""

import index  # noqa: F401  (sets the environment before anything here imports gradio or chromadb)
