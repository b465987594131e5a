"""Fixtures of the beras-cnn hidden suite: float64 on both sides, and twin layers with the same weights.

Every random input comes from the test's ``rng`` (or ``seed``), so ``--seed N`` replays a run.
Helpers are fixtures rather than an importable module so that the suite works in every
pytest import mode.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grader.harness import fetch


@pytest.fixture(autouse=True)
def float64_weights(student, reference):
    """New weights in float64 on both sides (exact comparisons); float32 again afterwards."""
    student.beras.set_floatx("float64")
    reference.beras.set_floatx("float64")
    yield
    student.beras.set_floatx("float32")
    reference.beras.set_floatx("float32")


class Twins:
    """Builds the same layer, with the same weights and inputs, in the student's Beras and the reference.

    Inputs cross as Tensors of each library, so they live on the active backend's device
    (numpy or CuPy) exactly as they would inside a model.
    """

    def __init__(self, student: Any, reference: Any, rng: np.random.Generator) -> None:
        self.student, self.reference, self.rng = student, reference, rng

    def normal(self, shape: tuple) -> np.ndarray:
        return self.rng.standard_normal(shape)

    def tensors(self, array: np.ndarray) -> tuple:
        """``(student Tensor, reference Tensor)`` holding ``array``."""
        return self.student.beras.Tensor(array), self.reference.beras.Tensor(array)

    def conv(self, filters: int, kernel_size: Any, channels: int, **options: Any) -> tuple:
        """``(student Conv2D, reference Conv2D)`` with the same random kernel and bias."""
        s = self.student.beras.Conv2D(filters, kernel_size, input_channels=channels, **options)
        r = self.reference.beras.Conv2D(filters, kernel_size, input_channels=channels, **options)
        r.kernel.assign(self.normal(tuple(fetch(r.kernel).shape)))
        s.kernel.assign(fetch(r.kernel))
        if r.use_bias:
            r.bias.assign(self.normal((filters,)))
            s.bias.assign(fetch(r.bias))
        return s, r


@pytest.fixture
def twins(student, reference, rng) -> Twins:
    return Twins(student, reference, rng)


def describe_conv(filters: int, kernel: Any, strides: Any = 1, padding: str = "valid", use_bias: bool = True,
                  dilation: Any = 1) -> str:
    """How a failure names the layer: ``Conv2D(filters=2, kernel_size=(4, 4), strides=1, padding='same')``."""
    extra = "" if use_bias else ", use_bias=False"
    extra += "" if dilation == 1 else f", dilation_rate={dilation!r}"
    return (f"Conv2D(filters={filters}, kernel_size={kernel!r}, strides={strides!r}, "
            f"padding={padding!r}{extra})")


@pytest.fixture
def conv_name():
    return describe_conv


# Mixed with each test's seed into the disguise's own generator. The student's code is told the seed
# (set_seed) but never sees this file, so it cannot redraw the disguise.
DISGUISE_KEY = 0x6E6F_6672_6565
DISGUISE_NOISE = 0.05


@pytest.fixture
def disguised_digits(reference, seed):
    """The 8x8 digits under this test's secret disguise: ``(x_train, y_train, x_test, y_test)``, NHWC.

    Every image is turned by the same multiple of 90 degrees and maybe mirrored, noise is added
    and the ten classes are renamed, all drawn from a generator the student's code cannot
    reproduce, so the data cannot simply be looked up (in scikit-learn's copy, say). A CNN learns
    the turned digits as well as the upright ones.
    """
    gen = np.random.default_rng([seed, DISGUISE_KEY])
    x_train, y_train, x_test, y_test = reference.beras.data.load_digits(seed=int(gen.integers(2**31)),
                                                                        dtype=np.float64)
    turns, mirror, classes = int(gen.integers(4)), bool(gen.integers(2)), gen.permutation(10)

    def disguise(x: np.ndarray, y: np.ndarray) -> tuple:
        x = np.rot90(x, turns, axes=(1, 2))
        x = x[:, :, ::-1] if mirror else x
        return np.ascontiguousarray(x + gen.normal(0.0, DISGUISE_NOISE, x.shape)), y[:, classes]

    return (*disguise(x_train, y_train), *disguise(x_test, y_test))


@pytest.fixture
def judge_predictions(reference):
    """``judge_predictions(layers, fetched, x)``: a model's outputs computed here, from its fetched weights.

    ``layers`` are reference layers of the student's architecture, ``fetched`` lists
    ``(reference weight, the student's handle for it, its name)``. What the student's ``predict``
    or ``fit`` say about themselves plays no part: a model that memorises or looks its data up,
    and trains no weight, predicts here what its untrained weights predict.
    """

    def predict(layers: list, fetched: list, x: np.ndarray) -> np.ndarray:
        for weight, handle, name in fetched:
            value = np.asarray(fetch(handle), dtype=np.float64)
            assert value.shape == tuple(weight.shape), (
                f"after fit, {name} has shape {value.shape}; expected {tuple(weight.shape)}"
            )
            weight.assign(value)
        return np.asarray(reference.beras.to_numpy(reference.beras.SequentialModel(layers).predict(x)))

    return predict


@pytest.fixture
def leading_ones_dropped():
    """``leading_ones_dropped(actual, expected)``: the fetched list ``actual``, each array without extra
    leading axes of length 1 beyond the rank of its ``expected`` twin. A ``(1, n)`` form of an ``(n,)``
    gradient holds the same values, so the local-gradient tests accept it; anything else is left for the
    comparison to judge.
    """
    from grader.harness import fetch

    def drop(actual, expected):
        got, want = fetch(actual), fetch(expected)
        if not isinstance(got, (list, tuple)) or not isinstance(want, (list, tuple)):
            return got
        out = []
        for g, w in zip(got, want):
            if hasattr(g, "shape"):
                g = np.asarray(g)
                while g.ndim > np.ndim(w) and g.shape[0] == 1:
                    g = g[0]
            out.append(g)
        return out + list(got[len(want):])

    return drop
