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
    reported before any value is compared. Extra leading axes of length 1 on an item (a ``(1, n)``
    bias gradient for an ``(n,)`` bias) are accepted: the values are what is judged.
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
            if hasattr(got, "shape"):
                got = squeeze_leading(got, np.ndim(want))
            assert_close(got, want, what=f"{what}, {name}", **tol)

    return check


def squeeze_leading(array, ndim: int):
    """``array`` without leading axes of length 1 beyond ``ndim`` axes (the values are unchanged)."""
    array = np.asarray(array)
    while array.ndim > ndim and array.shape[0] == 1:
        array = array[0]
    return array


@pytest.fixture
def assert_one_of_forms():
    """``assert_one_of_forms(actual, forms, what, **tol)``: ``actual`` must equal one accepted form.

    ``forms`` maps a description of each correct form ("x, shape (batch, in)") to its expected
    array. Extra leading axes of length 1 on ``actual`` are dropped first (they hold the same
    values); the form whose shape ``actual`` then has is the one its values are compared with.
    A shape that is none of the forms fails with every accepted form listed.
    """
    from grader.harness import assert_close, fetch

    def check(actual, forms: dict, what: str, **tol):
        got = fetch(actual)
        if not hasattr(got, "shape") and not isinstance(got, (list, tuple, int, float)):
            raise AssertionError(f"{what}: expected an array, received {type(got).__name__}")
        got = np.asarray(got)
        for description, expected in forms.items():
            expected = np.asarray(expected)
            candidate = squeeze_leading(got, expected.ndim)
            if candidate.shape == expected.shape:
                assert_close(candidate, expected, what=f"{what} (read as {description})", **tol)
                return
        accepted = "; ".join(f"{d}: shape {np.asarray(e).shape}" for d, e in forms.items())
        raise AssertionError(f"{what}: received shape {got.shape}; the accepted forms are {accepted}")

    return check


# Mixed with each test's seed into the disguise's own generator. The student's code is told the seed
# (set_seed) but never sees this file, so it cannot redraw the disguise.
DISGUISE_KEY = 0x6E6F_6672_6565
DISGUISE_NOISE = 0.05


@pytest.fixture
def disguised_digits(reference, seed):
    """The 8x8 digits under this test's secret disguise, flattened: ``(x_train, y_train, x_test, y_test)``.

    The pixels are permuted, noise is added and the ten classes are renamed, all drawn from a
    generator the student's code cannot reproduce: the data cannot be looked up (in scikit-learn's
    copy, say). None of it changes what an MLP can learn: permuting its inputs only reorders the
    first layer's weights. (Inverting pixels too cost the reference about a point of accuracy.)
    """
    gen = np.random.default_rng([seed, DISGUISE_KEY])
    x_train, y_train, x_test, y_test = reference.beras.data.load_digits(seed=int(gen.integers(2**31)),
                                                                        dtype=np.float64)
    pixels, classes = gen.permutation(64), gen.permutation(10)

    def disguise(x: np.ndarray, y: np.ndarray) -> tuple:
        x = x.reshape(len(x), -1)[:, pixels]
        return x + gen.normal(0.0, DISGUISE_NOISE, x.shape), y[:, classes]

    return (*disguise(x_train, y_train), *disguise(x_test, y_test))


@pytest.fixture
def judge_predictions(reference):
    """``judge_predictions(layers, fetched, x)``: a model's outputs computed here, from its fetched weights.

    ``layers`` are reference layers of the student's architecture, ``fetched`` maps each
    reference weight to the student's handle for it. What the student's ``predict`` or ``fit``
    say about themselves plays no part: a model that memorises or looks its data up, and
    trains no weight, predicts here what its untrained weights predict.
    """
    from grader.harness import fetch

    def predict(layers: list, fetched: list, x: np.ndarray) -> np.ndarray:
        for weight, handle, name in fetched:
            value = np.asarray(fetch(handle), dtype=np.float64)
            assert value.shape == tuple(weight.shape), (
                f"after fit, {name} has shape {value.shape}; expected {tuple(weight.shape)}"
            )
            weight.assign(value)
        return np.asarray(reference.beras.to_numpy(reference.beras.SequentialModel(layers).predict(x)))

    return predict
