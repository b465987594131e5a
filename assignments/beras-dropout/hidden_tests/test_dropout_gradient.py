"""Dropout's gradient: the upstream gradient flows through the kept inputs only, scaled by 1/(1-rate) like
them."""

from __future__ import annotations

import numpy as np
import pytest

from grader.harness import assert_close, fetch

RATES = [0.2, 0.5, 0.75]
SHAPES = {"2d": (48, 40), "3d": (6, 12, 20)}


def _single(grads, call: str):
    """The one array of a one-input layer's gradient list."""
    grads = fetch(grads)
    assert isinstance(grads, (list, tuple)) and len(grads) == 1, (
        f"{call} must return a list with one array, [dL/dx]")
    return grads[0]


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("rate", RATES)
def test_compose_input_gradients(student, rng, mask_of, nonzero, rate, shape):
    """``dL/dx = J * mask``: zero where the last call dropped, ``J / (1 - rate)`` where it kept."""
    layer = student.beras.Dropout(rate)
    what = f"Dropout({rate}) in training on an input of shape {shape}"
    kept = mask_of(layer(student.beras.Tensor(nonzero(shape))), rate, what)
    J = rng.standard_normal(shape)
    got = _single(layer.compose_input_gradients(student.beras.Tensor(J)),
                  "Dropout.compose_input_gradients(J)")
    assert_close(got, np.where(kept, J / (1 - rate), 0.0), rtol=1e-6, atol=1e-12,
                 what=f"{what}: compose_input_gradients(J)[0] (J through the kept inputs, "
                      "scaled by 1 / (1 - rate))")


@pytest.mark.parametrize("rate", RATES)
def test_local_gradient(student, mask_of, nonzero, rate):
    """Documented as shaped like the input: 0 where dropped, 1 / (1 - rate) where kept (leading axes of 1
    accepted)."""
    layer = student.beras.Dropout(rate)
    shape = (40, 30)
    what = f"Dropout({rate}) in training on an input of shape {shape}"
    kept = mask_of(layer(student.beras.Tensor(nonzero(shape))), rate, what)
    got = np.asarray(_single(layer.get_input_gradients(), "Dropout.get_input_gradients()"))
    while got.ndim > len(shape) and got.shape[0] == 1:
        got = got[0]
    assert_close(got, np.where(kept, 1 / (1 - rate), 0.0), rtol=1e-6, atol=0,
                 what=f"{what}: get_input_gradients()[0]")


def test_gradient_follows_the_latest_call(student, rng, mask_of, nonzero):
    """Each call draws a new mask, and the gradient uses the mask of the latest call."""
    layer = student.beras.Dropout(0.5)
    shape = (40, 30)
    mask_of(layer(student.beras.Tensor(nonzero(shape))), 0.5, "Dropout(0.5), first call")
    second = mask_of(layer(student.beras.Tensor(nonzero(shape))), 0.5, "Dropout(0.5), second call")
    J = rng.standard_normal(shape)
    got = _single(layer.compose_input_gradients(student.beras.Tensor(J)),
                  "Dropout.compose_input_gradients(J)")
    assert_close(got, np.where(second, 2 * J, 0.0), rtol=1e-6, atol=1e-12,
                 what="Dropout(0.5) after two calls: compose_input_gradients(J)[0] (the second call's mask)")


def test_inference_gradient_is_the_upstream(student, rng, mask_of, nonzero):
    """After a call in inference mode nothing was dropped or scaled: ``dL/dx = J`` (after dropping in
    training)."""
    layer = student.beras.Dropout(0.5)
    shape = (40, 30)
    mask_of(layer(student.beras.Tensor(nonzero(shape))), 0.5, "Dropout(0.5) in training")
    layer.training = False
    layer(student.beras.Tensor(nonzero(shape)))
    J = rng.standard_normal(shape)
    got = _single(layer.compose_input_gradients(student.beras.Tensor(J)),
                  "Dropout.compose_input_gradients(J)")
    assert_close(got, J, rtol=1e-6, atol=1e-12,
                 what="Dropout(0.5) after a call with training = False: compose_input_gradients(J)[0]")
