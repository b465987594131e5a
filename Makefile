# Two entry points: `make demo` (the product's main job on embedded defaults) and
# `make test` (installs what the full suite needs, then runs every test).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: demo test install install-test bench bench-sandbox bench-surge bench-burst bench-pages gpu-check gpu-wheels \
	clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(PIP) -e .

install-test: $(BIN)/python
	$(PIP) -e '.[test]'

# The demo needs only bubblewrap (installed if missing); it uses Docker when a daemon and the image are ready.
demo: install
	VENV_BIN=$(BIN) tools/system-setup.sh sandbox
	$(BIN)/beras-grader demo

# pytest exits 5 when it collected no test; make treats any non-zero exit as failure.
# Every sandbox test runs: BERAS_REQUIRE_SANDBOXES turns a missing backend into a failure, not a skip.
test: install-test
	VENV_BIN=$(BIN) tools/system-setup.sh all
	BERAS_REQUIRE_SANDBOXES=1 $(BIN)/python -m pytest

bench: install-test
	$(BIN)/python bench/conv.py

bench-sandbox: install-test
	VENV_BIN=$(BIN) tools/system-setup.sh docker
	$(BIN)/python bench/sandbox.py

bench-surge: install-test
	VENV_BIN=$(BIN) tools/system-setup.sh all
	$(BIN)/python bench/surge.py --count 200

bench-burst: install-test
	VENV_BIN=$(BIN) tools/system-setup.sh all
	$(BIN)/python bench/surge.py --burst --count 100

bench-pages: install-test
	$(BIN)/python bench/pages.py

# On a machine with an NVIDIA GPU (8 minutes at most): CuPy for its CUDA, every CuPy test on the device,
# bench/gpu.py, beras-cnn graded on the CuPy backend, one summary table (bench/gpu_check.py). Without a GPU
# it exits 2 before installing anything. No index reachable there: `make gpu-wheels` where pip works, carry
# .gpu-wheels along, and run `make gpu-check GPU_WHEELS=.gpu-wheels`.
gpu-check:
	$(PYTHON) bench/gpu_check.py $(if $(GPU_WHEELS),--wheels $(GPU_WHEELS))

gpu-wheels:
	$(PYTHON) bench/gpu_check.py --download-wheels .gpu-wheels

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
