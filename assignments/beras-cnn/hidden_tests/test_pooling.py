"""MaxPool2D against the reference: window maxima, SAME padding that never wins, and gradient routing (ties
too)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

from grader.harness import assert_close, fetch

EXACT = 1e-6  # these layers only move values around: exact, up to a float32 cast


class Pool(NamedTuple):
    batch: int
    height: int
    width: int
    channels: int
    pool_size: object
    strides: object
    padding: str
    hint: str = ""

    @property
    def input_shape(self) -> tuple:
        return (self.batch, self.height, self.width, self.channels)

    def name(self) -> str:
        strides = "" if self.strides is None else f", strides={self.strides!r}"
        return (f"MaxPool2D(pool_size={self.pool_size!r}{strides}, padding={self.padding!r}) "
                f"on input {self.input_shape}")


SAME_HINT = (" (SAME pads with -inf so that padding never wins; an odd total padding puts the extra "
             "row/column at the bottom/right)")
OVERLAP_HINT = (" (overlapping windows: an input that is the maximum of several windows collects all "
                "their gradients)")

POOLS = {
    "p2-valid": Pool(2, 4, 4, 1, 2, None, "valid"),
    "p3-valid-3ch": Pool(2, 6, 6, 3, 3, None, "valid"),
    "p2-valid-dropped": Pool(1, 5, 5, 2, 2, None, "valid",
                             " (VALID: the last row/column fills no window and is dropped)"),
    "p2x3-valid-nonsquare": Pool(2, 6, 7, 1, (2, 3), None, "valid"),
    "p4-global": Pool(1, 4, 4, 1, 4, None, "valid", " (one window covers the whole image)"),
    "p3x2-s2x1-overlap": Pool(2, 7, 6, 2, (3, 2), (2, 1), "valid", OVERLAP_HINT),
    "p2-same-oddpad": Pool(2, 5, 5, 2, 2, None, "same", SAME_HINT),
    "p3-s2-same-overlap": Pool(1, 6, 6, 2, 3, 2, "same", SAME_HINT + OVERLAP_HINT),
    "p3-s1-same": Pool(2, 5, 7, 3, 3, 1, "same", SAME_HINT + OVERLAP_HINT),
}
SAME_POOLS = {key: pool for key, pool in POOLS.items() if pool.padding == "same"}
TIE_HINT = (" (ties: only the first maximum of each window, in row-major order, receives that window's "
            "gradient)")


def _layers(student, reference, pool: Pool):
    options = dict(strides=pool.strides, padding=pool.padding)
    return (student.beras.MaxPool2D(pool.pool_size, **options),
            reference.beras.MaxPool2D(pool.pool_size, **options))


def _forward(twins, student, reference, pool: Pool, x: np.ndarray):
    s, r = _layers(student, reference, pool)
    xs, xr = twins.tensors(x)
    return s, r, s(xs), fetch(r(xr))


@pytest.mark.parametrize("pool", POOLS.values(), ids=POOLS.keys())
def test_pool_forward(twins, student, reference, pool):
    _, _, out_s, out_r = _forward(twins, student, reference, pool, twins.normal(pool.input_shape))
    assert_close(out_s, out_r, rtol=EXACT, atol=0, what=f"{pool.name()}{pool.hint}: forward")


@pytest.mark.parametrize("pool", SAME_POOLS.values(), ids=SAME_POOLS.keys())
def test_pool_forward_negative_inputs(twins, student, reference, pool):
    x = -np.abs(twins.normal(pool.input_shape)) - 0.5
    _, _, out_s, out_r = _forward(twins, student, reference, pool, x)
    assert_close(out_s, out_r, rtol=EXACT, atol=0,
                 what=f"{pool.name()}, all-negative inputs (padding with 0 instead of -inf would win here): "
                      "forward")


@pytest.mark.parametrize("pool", POOLS.values(), ids=POOLS.keys())
def test_pool_gradient(twins, student, reference, pool):
    s, r, _, out_r = _forward(twins, student, reference, pool, twins.normal(pool.input_shape))
    js, jr = twins.tensors(twins.normal(out_r.shape))
    assert_close(s.compose_input_gradients(js), r.compose_input_gradients(jr), rtol=EXACT, atol=1e-12,
                 what=f"{pool.name()}{pool.hint}: compose_input_gradients(J)")


@pytest.mark.parametrize("pool", POOLS.values(), ids=POOLS.keys())
def test_pool_gradient_with_ties(twins, student, reference, pool):
    x = twins.rng.integers(0, 3, size=pool.input_shape).astype(np.float64)
    s, r, out_s, out_r = _forward(twins, student, reference, pool, x)
    assert_close(out_s, out_r, rtol=EXACT, atol=0, what=f"{pool.name()}, inputs with ties: forward")
    js, jr = twins.tensors(twins.normal(out_r.shape))
    assert_close(s.compose_input_gradients(js), r.compose_input_gradients(jr), rtol=EXACT, atol=1e-12,
                 what=f"{pool.name()}, inputs with ties{TIE_HINT}{pool.hint}: compose_input_gradients(J)")


LOCAL = ["p2-valid", "p3x2-s2x1-overlap", "p3-s1-same"]


@pytest.mark.parametrize("key", LOCAL)
def test_pool_gradient_local(twins, student, reference, key, leading_ones_dropped):
    """Extra leading axes of length 1 are accepted."""
    pool = POOLS[key]
    x = twins.rng.integers(0, 4, size=pool.input_shape).astype(np.float64)
    s, r, _, _ = _forward(twins, student, reference, pool, x)
    want = fetch(r.get_input_gradients())
    assert_close(leading_ones_dropped(s.get_input_gradients(), want), want, rtol=EXACT, atol=0,
                 what=f"{pool.name()}{pool.hint} (documented as how many windows each input is the first "
                      "maximum of): get_input_gradients()")
