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

.PHONY: install serve test eval-gate bench screenshots clean

install: $(STAMP)

# llama.cpp is compiled for the machine (-march=native) but without Intel AMX: on the Sapphire Rapids
# virtual machines here its AMX kernels crash the process at the first decode (segfault; llama.cpp
# issue 20824). The check after the build catches a wheel from pip's cache built without the flags.
NO_AMX := $(if $(filter x86_64,$(shell uname -m)),-mno-amx-tile -mno-amx-int8 -mno-amx-bf16)
# Without llama.cpp's multimodal library (mtmd), which paperchat never loads: the build took 466 s (a test ran beside
# it for 3 of them) instead of 512 s on 2 cores (`pip wheel` of the 0.3.36 sdist, 2026-12-03).
LLAMA_CMAKE := -DLLAVA_BUILD=OFF
HAS_AMX := "import llama_cpp, sys; sys.exit('AMX_INT8 = 1' in llama_cpp.llama_print_system_info().decode())"

# torch first, from the CPU build on local disk: anything else would pull a multi-GB CUDA build.
# requirements.lock pins every transitive package to the set tested together.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.0.1
	$(BIN)/python -m pip install --quiet torch==2.13.0
	CMAKE_ARGS="$(LLAMA_CMAKE)" CFLAGS="$(NO_AMX)" CXXFLAGS="$(NO_AMX)" $(BIN)/python -m pip install --quiet -c requirements.lock llama_cpp_python
	$(BIN)/python -c $(HAS_AMX) || CMAKE_ARGS="$(LLAMA_CMAKE)" CFLAGS="$(NO_AMX)" CXXFLAGS="$(NO_AMX)" $(BIN)/python -m pip install --quiet \
		--no-cache-dir --force-reinstall --no-deps -c requirements.lock llama_cpp_python
	$(BIN)/python -c $(HAS_AMX) || (echo "llama_cpp_python was built with AMX kernels, which crash here" && exit 1)
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test,bench]'
	touch $(STAMP)

# The chat in the browser (and its API); `paperchat serve` builds the index first when it is missing.
serve: install
	$(BIN)/paperchat serve

# Every test (plain `pytest` leaves out the ones marked slow), then the benchmark smoke
# (bench/thresholds.toml) and the grounding eval gate.
# The bundled collection is ingested once, into a temporary data dir: the tests' bundled index is a
# copy of it (PAPERCHAT_TEST_INDEX), the smoke and the gate use it as it is. The smoke's result goes
# to the ignored bench/runs/, so a test run leaves the tree as it was.
# The browser tests drive Debian's chromium (never `playwright install`); CJK fonts make the
# screenshots of Chinese text readable. Installed only when chromium is missing (CI runs as root).
test: install
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium fonts-noto-cjk)
	@index=$$(mktemp -d) && trap 'rm -rf "$$index"' EXIT && \
	PAPERCHAT_DATA_DIR="$$index" $(BIN)/paperchat ingest >/dev/null && \
	PAPERCHAT_TEST_INDEX="$$index" $(BIN)/python -m pytest -m "slow or not slow" --durations=25 && \
	$(BIN)/python -m bench.smoke --data-dir "$$index" --out bench/runs/smoke.json && \
	$(MAKE) --no-print-directory eval-gate GATE_DATA_DIR="$$index"

# The grounding eval as a CI gate (evals/thresholds.toml): the development set and the blind set
# with the extractive backend, then the bundled model on fixed subsets of both, in one process
# (`paperchat eval ci`: the embedder, the model and the judge are loaded once). The index is
# built into a temporary data dir, so a fresh machine works (or brought up to date in
# GATE_DATA_DIR, which `make test` passes); every profile runs even when one breaches, and reports
# stay in evals/runs/gate-*.
eval-gate: install
	@data="$(GATE_DATA_DIR)" && if [ -z "$$data" ]; then data=$$(mktemp -d) && trap 'rm -rf "$$data"' EXIT; fi && \
	export PAPERCHAT_DATA_DIR="$$data" && \
	$(BIN)/paperchat ingest >/dev/null && \
	$(BIN)/paperchat eval ci --thresholds evals/thresholds.toml --out evals/runs --no-progress

# The benchmarks of docs/performance.md that take minutes, not hours; results in bench/results/.
# bench.scale, bench.needle and bench.load are run by hand (their commands are in docs/performance.md).
bench: install
	$(BIN)/python -m bench.search
	$(BIN)/python -m bench.peers
	$(BIN)/python -m bench.coldstart
	@data=$$(mktemp -d) && trap 'rm -rf "$$data"' EXIT && export PAPERCHAT_DATA_DIR="$$data" && \
	$(BIN)/paperchat ingest >/dev/null && \
	$(BIN)/python -m bench.breakdown && \
	$(BIN)/python -m bench.answer --backend local && \
	$(BIN)/python -m bench.answer --backend extractive

# The README's pictures of the chat (docs/screenshot-*.png): a real `paperchat serve` in chromium.
screenshots: install
	test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium fonts-noto-cjk)
	$(BIN)/python -m bench.screenshots

clean:
	rm -rf $(VENV)
