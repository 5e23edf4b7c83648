# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv themselves.
SHELL := /bin/bash
# Python 3.11 if it is on PATH (requirements/ pins the packages for it), else the first Python >= 3.10;
# override with `make PYTHON=python3.12 ...`.
PYTHON ?= $(shell for p in python3.11 python3 python3.13 python3.12 python3.10; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null \
	&& echo $$p && break; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

LOCK := requirements/runtime.txt requirements/build.txt requirements/dev.txt
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet

.PHONY: setup bytecode demo test test-slow lint bench lock clean

setup: $(STAMP)

# A fresh .venv holding exactly the locked versions, each checked against its sha256 (see tools/lock.py).
# The lock is for CPython 3.11 on Linux x86_64; any other Python gets the newest versions pyproject.toml
# allows, and is told so.
$(STAMP): pyproject.toml $(LOCK)
	@test -n "$(PYTHON)" || { echo "Python 3.10 or newer is required; none was found on PATH." >&2; exit 1; }
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	@if $(BIN)/python tools/lock.py --fits; then \
		$(BIN)/python tools/lock.py --check \
		&& echo "Installing requirements/dev.txt: exact versions, each checked against its sha256." \
		&& $(PIP) install --require-hashes -r requirements/dev.txt \
		&& $(PIP) install --no-deps --no-build-isolation -e .; \
	else \
		echo "requirements/ pins the packages for CPython 3.11 on Linux x86_64, which $(PYTHON) is not:" \
			"installing the newest versions pyproject.toml allows instead." >&2 \
		&& $(PIP) install --upgrade pip && $(PIP) install -e '.[test]'; \
	fi
	$(BIN)/python -m pip check
	$(BIN)/python -c "import source_bigcommerce, bigcommerce_sandbox, dlt, aiohttp, pytest"
	@touch $(STAMP)

# After changing a dependency in pyproject.toml: re-resolve requirements/ from PyPI, then commit it.
lock:
	$(PYTHON) tools/lock.py

# pip compiles an installed package's modules once; an editable install leaves ours to each process, and
# where PYTHONDONTWRITEBYTECODE is set (as on the machine CI runs on) every process compiles them again:
# about 0.05-0.1 CPU-s per connector run, 12 CPU-s over `make test`. Compiling here keeps runs as installed
# ones.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q src tests bench tools

# The demo runs `bigcommerce-sandbox serve` as a process of its own and syncs it over HTTP, as a real store.
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

# dlt keeps its working files for ./bigcommerce.duckdb in its data directory (/var/dlt for root, ~/.dlt for
# anyone else, or $DLT_DATA_DIR), not here: they go with the file; other targets' stay.
clean:
	@test ! -x $(BIN)/python || $(BIN)/python -c "import shutil; \
		from source_bigcommerce.destination import Target, default_dataset; \
		folder = Target('duckdb', None, default_dataset('duckdb')).working_dir(); \
		print('rm -rf', folder); shutil.rmtree(folder, ignore_errors=True)"
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache bigcommerce.duckdb
