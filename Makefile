# The two commands a newcomer needs: `make run` and `make test`.
# Both create .venv on first use and install the exact, hash-checked versions of
# the lock files in requirements/, reinstalling when a lock file changes.
# `make lock` refreshes the lock files from pyproject.toml on purpose.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --require-hashes

.PHONY: run test bench lock clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed; run: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)

# Running needs only the run lock; the tests need the test lock (a superset).
$(VENV)/.run-installed: requirements/run.txt | $(BIN)/python
	$(PIP) -r requirements/run.txt
	@touch $@

$(VENV)/.test-installed: requirements/test.txt | $(BIN)/python
	$(PIP) -r requirements/test.txt
	@touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/python main.py $(ARGS)

test: $(VENV)/.test-installed
	QT_QPA_PLATFORM=offscreen HYPOTHESIS_STORAGE_DIRECTORY=$(VENV)/hypothesis $(BIN)/python -m pytest $(PYTEST_ARGS)

# Figures beside baselines from the same run; never part of `make test`.
# BENCH_ARGS="--only 1,3 --seconds 3" runs a part, and then writes no results.json.
bench: $(VENV)/.test-installed
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m bench $(BENCH_ARGS)

# Resolve pyproject.toml's bounds to the newest versions anew, with hashes. Run the
# whole suite (and a soak: tests/gui/test_soak.py) before committing the result.
LOCK_TOOLS := $(VENV)-lock
COMPILE    := $(LOCK_TOOLS)/bin/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe --strip-extras \
              --no-emit-find-links --no-emit-index-url --no-emit-trusted-host
lock:
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/python -m pip install --quiet pip-tools==7.6.2
	$(COMPILE) --extra test -o requirements/test.txt pyproject.toml
	$(COMPILE) --constraint requirements/test.txt -o requirements/run.txt pyproject.toml

clean:
	rm -rf $(VENV) $(LOCK_TOOLS) *.egg-info .pytest_cache
