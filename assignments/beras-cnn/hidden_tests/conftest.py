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
    return f"Conv2D(filters={filters}, kernel_size={kernel!r}, strides={strides!r}, padding={padding!r}{extra})"


@pytest.fixture
def conv_name():
    return describe_conv
