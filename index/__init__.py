"""Corpus files to vectors: parse, validate, chunk, embed and store in Chroma.

Every part of paperchat imports this package first, so the program's environment is set here, before
huggingface_hub, transformers, chromadb or gradio read it (they read it when they are imported): offline,
because no weights may be downloaded at run time (an operator who wants a model from the hub can still set
``HF_HUB_OFFLINE=0``), and without telemetry, which is not left to the user's environment at all: the
Makefile's exports are not there when someone runs ``paperchat serve`` directly, and Gradio's analytics (a
version check and usage reports) and Chroma's telemetry default to on.
"""

import os

for _name, _value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1")):
    os.environ.setdefault(_name, _value)
for _name, _value in (("GRADIO_ANALYTICS_ENABLED", "False"), ("ANONYMIZED_TELEMETRY", "False"),
                      ("HF_HUB_DISABLE_TELEMETRY", "1")):
    os.environ[_name] = _value
