"""Shared set-up of the hidden Beras MLP tests: float64 on both sides, and twin layers with equal weights."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def float64_everywhere(student, reference, seed):
    """New weights in float64 in both libraries (tight comparisons), both seeded; float32 again afterwards."""
    student.beras.set_floatx("float64")
    reference.beras.set_floatx("float64")
    student.beras.set_seed(seed)
    reference.beras.set_seed(seed)
    try:
        yield
    finally:
        student.beras.set_floatx("float32")
        reference.beras.set_floatx("float32")


@pytest.fixture
def dense_pair(student, reference, rng):
    """Factory: ``dense_pair(n_in, n_out)`` → (student Dense, reference Dense) with the same random weights.

    The bias is random too (not the initial zeros), so a forgotten bias shows.
    """

    def make(n_in: int, n_out: int, scale: float = 0.5):
        r_layer = reference.beras.Dense(n_in, n_out)
        r_layer.w.assign(rng.normal(0.0, scale, size=(n_in, n_out)))
        r_layer.b.assign(rng.normal(0.0, scale, size=(n_out,)))
        s_layer = student.beras.Dense(n_in, n_out)
        s_layer.w.assign(np.array(r_layer.w))
        s_layer.b.assign(np.array(r_layer.b))
        return s_layer, r_layer

    return make


@pytest.fixture
def assert_each_close():
    """``assert_each_close(actual, expected, names, what, **tol)``: compare a list of arrays item by item.

    Each failure names the item (``dL/dw1``) instead of an index, and a wrong number of items is
    reported before any value is compared.
    """
    from grader.harness import assert_close, fetch

    def check(actual, expected, names, what, **tol):
        actual, expected = fetch(actual), fetch(expected)
        if not isinstance(actual, (list, tuple)):
            raise AssertionError(
                f"{what}: expected a list of {len(names)} arrays ({', '.join(names)}), "
                f"received a {type(actual).__name__}"
            )
        if len(actual) != len(expected):
            raise AssertionError(
                f"{what}: expected a list of {len(names)} arrays ({', '.join(names)}), received {len(actual)}"
            )
        for name, got, want in zip(names, actual, expected):
            assert_close(got, want, what=f"{what}, {name}", **tol)

    return check
