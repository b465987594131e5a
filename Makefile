# Two entry points: `make demo` (the product's main job on embedded defaults) and
# `make test` (installs what the full suite needs, then runs every test).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: demo test install install-test bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(PIP) -e .

install-test: $(BIN)/python
	$(PIP) -e '.[test]'

demo: install
	$(BIN)/beras-grader demo

# pytest exits 5 when it collected no test; make treats any non-zero exit as failure.
test: install-test
	$(BIN)/python -m pytest

bench: install-test
	$(BIN)/python bench/conv.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
