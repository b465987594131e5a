"""Flatten against the reference: (batch, d1, d2, ...) -> (batch, d1 * d2 * ...), and the gradient back."""

from __future__ import annotations

import pytest

from grader.harness import assert_close, fetch

EXACT = 1e-6  # these layers only move values around: exact, up to a float32 cast

SHAPES = {"nhwc": (3, 4, 5, 2), "3d": (2, 3, 7), "2d": (4, 6), "batch1": (1, 2, 2, 3)}


def _forward(twins, student, reference, shape):
    s, r = student.beras.Flatten(), reference.beras.Flatten()
    xs, xr = twins.tensors(twins.normal(shape))
    return s, r, s(xs), fetch(r(xr))


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_flatten_forward(twins, student, reference, shape):
    _, _, out_s, out_r = _forward(twins, student, reference, shape)
    assert_close(out_s, out_r, rtol=EXACT, atol=0,
                 what=f"Flatten() on input {shape} (keep the batch axis, row-major order within an example): forward")


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_flatten_gradient(twins, student, reference, shape):
    s, r, _, out_r = _forward(twins, student, reference, shape)
    js, jr = twins.tensors(twins.normal(out_r.shape))
    assert_close(s.compose_input_gradients(js), r.compose_input_gradients(jr), rtol=EXACT, atol=0,
                 what=f"Flatten() on input {shape} (J reshaped to the input's shape): compose_input_gradients(J)")


def test_flatten_local_gradient(twins, student, reference):
    s, r, _, _ = _forward(twins, student, reference, SHAPES["nhwc"])
    assert_close(s.get_input_gradients(), r.get_input_gradients(), rtol=EXACT, atol=0,
                 what=f"Flatten() on input {SHAPES['nhwc']} (documented as ones shaped like the input): get_input_gradients()")
