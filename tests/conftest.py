"""Fixtures shared by the whole suite: backend parametrization, float64 mode, seeding."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import beras
from beras import backend

# cupy-standin: beras' CuPy path on tests/cupy_standin (a strict numpy-backed CuPy), in every run.
BACKENDS = ["numpy", "cupy-standin", "cupy"]


@pytest.fixture(params=BACKENDS)
def xp(request):
    """Run the test once per array backend; real-CuPy cases skip visibly without a GPU.

    Yields the active array module (numpy, the CuPy stand-in, or cupy). Compare results on the
    host with ``beras.to_numpy``.
    """
    name = request.param
    if name == "cupy-standin":
        from tests.cupy_standin.plug import beras_on_standin

        with beras_on_standin() as module:
            yield module
        return
    if name == "cupy" and not backend.gpu_available():
        pytest.skip("not run: no GPU (CuPy backend needs CuPy and a CUDA device)")
    previous = backend.get_backend()
    backend.set_backend(name)
    try:
        yield backend.xp()
    finally:
        backend.set_backend(previous)


@pytest.fixture(autouse=True)
def _no_standin_left_as_cupy():
    """Fail the test that leaves the stand-in in ``sys.modules["cupy"]``: every later real-CuPy case would
    run on it and pass as if a GPU had run it."""
    yield
    leaked = sys.modules.get("cupy")
    if getattr(leaked, "STANDIN", False):
        sys.modules.pop("cupy", None)
        sys.modules.pop("cupy.cuda", None)
        pytest.fail("this test left the CuPy stand-in in sys.modules['cupy']; use tests.cupy_standin.plug")


@pytest.fixture
def float64():
    """New weights in float64 for exact comparisons with an oracle."""
    previous = backend.floatx()
    backend.set_floatx("float64")
    try:
        yield
    finally:
        backend.set_floatx(previous)


@pytest.fixture
def rng():
    """A seeded numpy generator; also seeds Beras' own generator."""
    beras.set_seed(1234)
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def gate_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run's GRADER_GATE_CACHE: the real assignments' releases (seed 7) pass the gate once, and the tests
    that release them again only to stand a service around them (the demo, the cluster) reuse the reports.
    Only those tests opt in: every other gate test runs the gate."""
    return tmp_path_factory.mktemp("gate-cache")


def release_with_cache(gate_cache: Path, *args, **kwargs):
    """``release`` with ``gate_cache`` on for this call only."""
    from grader.authoring.gate_cache import CACHE_ENV
    from grader.authoring.release import release

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(gate_cache))
        return release(*args, **kwargs)


@pytest.fixture(scope="session")
def mlp_outcome(tmp_path_factory: pytest.TempPathFactory, gate_cache: Path):
    """beras-mlp released once through the real gate (seed 7) for the whole run: the gate is the costliest
    step."""
    from tests.grading.conftest import ASSIGNMENTS, REFERENCE

    out = tmp_path_factory.mktemp("service-release")
    return release_with_cache(gate_cache, ASSIGNMENTS / "beras-mlp", out, reference_package=REFERENCE, seed=7)


@pytest.fixture(scope="session")
def mlp_release(mlp_outcome) -> tuple[Path, Path]:
    """beras-mlp released, for the service and web tests: ``(autograder, starter zip)``."""
    assert mlp_outcome.report.ok, mlp_outcome.report.format()
    return mlp_outcome.autograder_dir, mlp_outcome.starter_zip


@pytest.fixture(scope="session")
def mlp(mlp_release):
    """The ``mlp_release`` loaded (tests/grading has its own ``mlp``, staged without the gate)."""
    from grader.authoring.released import load_released

    return load_released(mlp_release[0])
