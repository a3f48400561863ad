# The two commands of the README: `make demo` and `make test`. Both set up from nothing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# torch first and pinned: a bare `torch` requirement would pull several GB of CUDA packages.
TORCH  ?= torch==2.13.0
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml Makefile | cksum | cut -d' ' -f1)
DEMO_OUT ?= demo-out

.PHONY: setup demo test unit integration lint bench bench-clean clean-venv

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check $(TORCH)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e ".[dev]"
	rm -f $(VENV)/.installed-*
	touch $@

demo: setup
	$(BIN)/toolkit fetch
	$(BIN)/toolkit summarise examples/articles -o $(DEMO_OUT) --resume; status=$$?; \
	  echo; cat $(DEMO_OUT)/digest.md; exit $$status

lint: setup
	$(BIN)/ruff check toolkit tests benchmarks eval
	$(BIN)/ruff format --check toolkit tests benchmarks eval
	$(BIN)/mypy

unit: setup
	$(BIN)/python -m pytest -q -m "not integration"

integration: setup
	$(BIN)/python -m pytest -q -m integration

test: lint
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/bench.py
	$(BIN)/python benchmarks/throughput.py --write docs/results.md

bench-clean: setup
	$(BIN)/python -m toolkit.cleanbench --json eval-out/cleanbench.json

clean-venv:
	rm -rf $(VENV)
