# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv themselves.
SHELL := /bin/bash
# The first Python >= 3.10 on PATH; override with `make PYTHON=python3.12 ...`.
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11 python3.10; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup bytecode demo test test-slow lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.10 or newer is required; none was found on PATH." >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	$(BIN)/python -c "import source_bigcommerce, bigcommerce_sandbox, dlt, aiohttp, pytest"
	@touch $(STAMP)

# pip compiles an installed package's modules once; an editable install leaves ours to each process, and
# where PYTHONDONTWRITEBYTECODE is set (as on the machine CI runs on) every process compiles them again:
# about 0.05-0.1 CPU-s per connector run, 12 CPU-s over `make test`. Compiling here keeps runs as installed
# ones.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q src tests bench tools

demo: bytecode
	$(BIN)/source-bigcommerce sync --demo

test: bytecode
	$(BIN)/python -m pytest -m "not slow" -q

test-slow: bytecode
	$(BIN)/python -m pytest -m slow -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy

bench: bytecode
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache bigcommerce.duckdb
