"""Flatten against the reference: (batch, d1, d2, ...) -> (batch, d1 * d2 * ...), and the gradient back."""

from __future__ import annotations

import pytest

from grader.harness import assert_close, fetch

EXACT = 1e-6  # these layers only move values around: exact, up to a float32 cast

# A (batch, features) input is already flat: Flatten gives it back unchanged. Its check rides with a
# 4-D one, since "return the input" alone would pass it.
SHAPES = {"nhwc": (3, 4, 5, 2), "3d": (2, 3, 7), "batch1": (1, 2, 2, 3)}
ALREADY_FLAT = (4, 6)


def _forward(twins, student, reference, shape):
    s, r = student.beras.Flatten(), reference.beras.Flatten()
    xs, xr = twins.tensors(twins.normal(shape))
    return s, r, s(xs), fetch(r(xr))


def _also_flat(shape: tuple) -> list:
    return [shape, ALREADY_FLAT] if shape == SHAPES["nhwc"] else [shape]


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_flatten_forward(twins, student, reference, shape):
    for each in _also_flat(shape):
        _, _, out_s, out_r = _forward(twins, student, reference, each)
        assert_close(out_s, out_r, rtol=EXACT, atol=0,
                     what=f"Flatten() on input {each} (keep the batch axis, row-major order within an "
                          "example): forward")


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_flatten_gradient(twins, student, reference, shape):
    for each in _also_flat(shape):
        s, r, _, out_r = _forward(twins, student, reference, each)
        js, jr = twins.tensors(twins.normal(out_r.shape))
        assert_close(s.compose_input_gradients(js), r.compose_input_gradients(jr), rtol=EXACT, atol=0,
                     what=f"Flatten() on input {each} (J reshaped to the input's shape): "
                          "compose_input_gradients(J)")


def test_flatten_local_gradient(twins, student, reference, leading_ones_dropped):
    """Ones shaped like the input; extra leading axes of length 1 are accepted."""
    s, r, _, _ = _forward(twins, student, reference, SHAPES["nhwc"])
    want = fetch(r.get_input_gradients())
    assert_close(leading_ones_dropped(s.get_input_gradients(), want), want, rtol=EXACT, atol=0,
                 what=f"Flatten() on input {SHAPES['nhwc']} (documented as ones shaped like the input): "
                      "get_input_gradients()")
