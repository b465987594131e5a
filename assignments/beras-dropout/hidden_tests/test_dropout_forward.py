"""Dropout's forward pass: in training about ``rate`` of the inputs are zeroed and the rest scaled by
1/(1-rate); in inference it is the identity."""

from __future__ import annotations

import pytest

from grader.harness import assert_close, fetch

RATES = [0.2, 0.5, 0.75]
SHAPES = {"2d": (64, 50), "3d": (8, 16, 25)}


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("rate", RATES)
def test_training_drops_about_rate(student, mask_of, nonzero, rate, shape):
    """Each input is dropped with probability ``rate``: about that fraction of the output is zero."""
    x = nonzero(shape)
    out = student.beras.Dropout(rate)(student.beras.Tensor(x))
    mask_of(out, rate, f"Dropout({rate}) in training on an input of shape {shape}")


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("rate", RATES)
def test_training_scales_kept_inputs(student, mask_of, nonzero, rate, shape):
    """Every kept input comes out multiplied by 1 / (1 - rate) (inverted dropout), in the input's shape."""
    x = nonzero(shape)
    out = fetch(student.beras.Dropout(rate)(student.beras.Tensor(x)))
    what = f"Dropout({rate}) in training on an input of shape {shape}"
    assert getattr(out, "shape", None) == shape, f"{what}: the output must have the input's shape {shape}"
    kept = mask_of(out, rate, what)
    assert_close(out[kept], x[kept] / (1 - rate), rtol=1e-6, atol=0,
                 what=f"{what}: the kept inputs (scaled by 1 / (1 - rate) while training)")


@pytest.mark.parametrize("rate", RATES)
def test_inference_is_the_identity(student, mask_of, nonzero, rate):
    """With ``layer.training = False`` the same layer returns its input unchanged (after dropping in
    training)."""
    layer = student.beras.Dropout(rate)
    x = nonzero((32, 40))
    # "return the input" must not pass: the layer has to drop while training first
    mask_of(layer(student.beras.Tensor(x)), rate, f"Dropout({rate}) in training")
    layer.training = False
    assert_close(layer(student.beras.Tensor(x)), x, rtol=0, atol=0,
                 what=f"Dropout({rate}) with training = False (inference: no input dropped, none scaled)")


def test_inference_from_the_constructor(student, mask_of, nonzero):
    """``Dropout(rate, training=False)`` is the identity; switched to training, it drops."""
    layer = student.beras.Dropout(0.5, training=False)
    x = nonzero((32, 40))
    assert_close(layer(student.beras.Tensor(x)), x, rtol=0, atol=0, what="Dropout(0.5, training=False)")
    layer.training = True
    mask_of(layer(student.beras.Tensor(x)), 0.5, "Dropout(0.5, training=False), then training = True")
