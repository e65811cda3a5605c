# The two commands a newcomer needs: `make run` and `make test`.
# Both create .venv on first use and reinstall when pyproject.toml changes.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed; run: make PYTHON=python3.11 ...")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/python main.py $(ARGS)

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen HYPOTHESIS_STORAGE_DIRECTORY=$(VENV)/hypothesis $(BIN)/python -m pytest $(PYTEST_ARGS)

# Figures beside baselines from the same run; never part of `make test`.
# BENCH_ARGS="--only 1,3 --seconds 3" runs a part, and then writes no results.json.
bench: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
