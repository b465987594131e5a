"""Fixtures of the beras-dropout hidden suite: a seeded student, float64, inputs without zeros, and the mask
read back.

Dropout's mask is random, so the tests never compare the student's output with the reference's.
They give the layer an input with no zeros, read the student's mask off the output (zero exactly
where an input was dropped), check that about ``rate`` of it was dropped, and only then judge the
values against that mask with the scale ``1 / (1 - rate)`` written here: a layer that forgets the
scale, drops nothing, or drops everything cannot pass on its own mask.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from grader.harness import fetch


@pytest.fixture(autouse=True)
def seeded_float64(student, reference, seed):
    """Seed the student's Beras (every mask is then replayable) and use float64; float32 again afterwards."""
    student.beras.set_floatx("float64")
    reference.beras.set_floatx("float64")
    student.beras.set_seed(seed)
    try:
        yield
    finally:
        student.beras.set_floatx("float32")
        reference.beras.set_floatx("float32")


def nonzero_input(rng: np.random.Generator, shape: tuple) -> np.ndarray:
    """Values in ±[0.5, 2): none is zero, so a zero in the output marks a dropped input."""
    return rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def dropped_fraction_tolerance(rate: float, size: int) -> float:
    """Five standard deviations of the dropped fraction of ``size`` independent draws, at least 0.02."""
    return max(0.02, 5 * math.sqrt(rate * (1 - rate) / size))


def read_mask(out, rate: float | None, what: str) -> np.ndarray:
    """The kept inputs (``out != 0``) of an output computed from a nonzero input, after checking their number.

    ``rate=None`` reads the mask without checking it (an output whose mask another check judged).

    Raises:
        AssertionError: when the output is not an array, or the dropped fraction is more than five
            standard deviations from ``rate``.
    """
    values = fetch(out)
    if not isinstance(values, np.ndarray) or values.dtype.kind not in "fiu":
        raise AssertionError(f"{what}: expected a numeric array, received {type(values).__name__}")
    if rate is None:
        return values != 0
    dropped = float(np.mean(values == 0))
    tolerance = dropped_fraction_tolerance(rate, values.size)
    assert abs(dropped - rate) <= tolerance, (
        f"{what}: dropped {dropped:.3f} of the {values.size} inputs (none of them zero); with rate={rate} "
        f"each input is dropped with probability {rate}, so about {rate:.3f} of them (within {tolerance:.3f})"
    )
    return values != 0


@pytest.fixture
def mask_of():
    """``mask_of(out, rate, what)``: see ``read_mask``."""
    return read_mask


@pytest.fixture
def nonzero(rng):
    """``nonzero(shape)``: a random input with no zeros, from the test's generator."""
    return lambda shape: nonzero_input(rng, shape)
