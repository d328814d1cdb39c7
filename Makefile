# paperchat: set-up, the main job and the tests. Every target is idempotent.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Offline by design: nothing may fetch weights or phone home.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
export ANONYMIZED_TELEMETRY := False

.PHONY: install serve test bench clean

install: $(STAMP)

# torch first, from the CPU build on local disk: anything else would pull a multi-GB CUDA build.
# requirements.lock pins every transitive package to the set tested together.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.0.1
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
	touch $(STAMP)

serve: install
	$(BIN)/paperchat ingest --if-missing
	$(BIN)/paperchat search --help

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/search.py
	$(BIN)/paperchat ingest --if-missing
	$(BIN)/python bench/retrieval.py

clean:
	rm -rf $(VENV)
