"""Fixtures shared by the whole suite: backend parametrization, float64 mode, seeding."""

from __future__ import annotations

import numpy as np
import pytest

import beras
from beras import backend

BACKENDS = ["numpy", "cupy"]


@pytest.fixture(params=BACKENDS)
def xp(request):
    """Run the test once per array backend; CuPy cases skip visibly without a GPU.

    Yields the active array module (numpy or cupy). Compare results on the host with
    ``beras.to_numpy``.
    """
    name = request.param
    if name == "cupy" and not backend.gpu_available():
        pytest.skip("not run: no GPU (CuPy backend needs CuPy and a CUDA device)")
    previous = backend.get_backend()
    backend.set_backend(name)
    try:
        yield backend.xp()
    finally:
        backend.set_backend(previous)


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
