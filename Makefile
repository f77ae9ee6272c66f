# Ferrule: two commands matter — `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export UV_NATIVE_TLS ?= 1

.PHONY: run test lint bench system-deps clean

$(BIN)/ferrule: pyproject.toml constraints.txt
	@command -v uv >/dev/null 2>&1 || $(PY) -m pip install --quiet uv
	@test -x $(BIN)/python || uv venv --quiet --python $(PY) $(VENV)
	uv pip install --quiet --python $(BIN)/python -c constraints.txt -e '.[dev]'
	@touch $@

## Set up and run Ferrule on the demo plant (SQLite, simulated devices).
run: $(BIN)/ferrule
	$(BIN)/ferrule demo

## Set up and run the whole test suite (installs PostgreSQL and Chromium when missing).
test: system-deps $(BIN)/ferrule lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: $(BIN)/ferrule
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

system-deps:
	@bash tests/infra/system-deps.sh

bench: $(BIN)/ferrule
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .hypothesis
