# brainbridge: every target sets itself up, so each works alone on a fresh clone.
PY      ?= python3.11
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
TORCH   := torch==2.13.0

.PHONY: setup study test test-fast bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@# A plain `torch` requirement would pull a multi-GB CUDA build; install the CPU
	@# build only when no torch is importable, and leave a user's own torch alone.
	@$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e ".[dev]"
	@touch $(STAMP)

study: setup
	$(BIN)/brainbridge run quickstart

# the suite runs on every core (pytest-xdist; at most 4 processes, each with its own Brian2
# standalone slot; Brian2's cython cache is shared and locked per module)
XDIST   := -n auto --maxprocesses 4 --dist worksteal

test: setup
	$(BIN)/python -m pytest $(XDIST)

test-fast: setup
	@# the suite without the tests marked slow (minutes to seconds while you work)
	$(BIN)/python -m pytest $(XDIST) -m "not slow"

bench: setup
	@# each benchmark prints its table and rewrites its own section of docs/benchmarks.md;
	@# benchmarks/args.txt holds the arguments of those that do not run with their defaults
	@for b in benchmarks/[a-z]*.py; do n=$$(basename $$b .py); \
	  a=$$(awk -v n=$$n '$$1 == n {$$1 = ""; print}' benchmarks/args.txt); \
	  echo "== $$b$$a"; OMP_NUM_THREADS=1 $(BIN)/python $$b $$a || exit 1; done

clean:
	rm -rf results .pytest_cache build *.egg-info
