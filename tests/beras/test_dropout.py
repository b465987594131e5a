"""The reference Dropout: inverted dropout with a mask from Beras's seeded generator, against numpy and
PyTorch oracles."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import beras


def mask_for(seed: int, shape: tuple, rate: float) -> np.ndarray:
    """The documented draw: ``rng().random(shape) >= rate`` right after ``set_seed(seed)``, as 0/1."""
    return (np.random.default_rng(seed).random(shape) >= rate).astype(np.float64)


@pytest.mark.parametrize("rate", [0.0, 0.3, 0.8])
def test_training_output_is_the_seeded_mask_scaled(xp, float64, rate):
    x = np.random.default_rng(1).normal(size=(30, 20))
    beras.set_seed(5)
    out = beras.to_numpy(beras.Dropout(rate)(beras.Tensor(x)))
    np.testing.assert_allclose(out, x * mask_for(5, x.shape, rate) / (1 - rate), rtol=1e-12)


def test_each_call_draws_a_new_mask_and_the_gradient_uses_the_latest(float64):
    beras.set_seed(2)
    layer = beras.Dropout(0.5)
    x = np.ones((40, 30))
    first = beras.to_numpy(layer(beras.Tensor(x)))
    second = beras.to_numpy(layer(beras.Tensor(x)))
    assert 0.3 < np.mean(first != second) < 0.7
    J = np.random.default_rng(3).normal(size=x.shape)
    (dx,) = layer.compose_input_gradients(beras.Tensor(J))
    np.testing.assert_allclose(beras.to_numpy(dx), J * second, rtol=1e-12)


def test_inference_is_the_identity_for_values_and_gradients(float64):
    layer = beras.Dropout(0.5, training=False)
    x = np.random.default_rng(4).normal(size=(5, 6))
    np.testing.assert_array_equal(beras.to_numpy(layer(beras.Tensor(x))), x)
    J = np.random.default_rng(5).normal(size=x.shape)
    np.testing.assert_array_equal(beras.to_numpy(layer.compose_input_gradients(beras.Tensor(J))[0]), J)
    layer.training = True
    assert np.any(beras.to_numpy(layer(beras.Tensor(np.ones((20, 20))))) == 0)


def test_tape_through_dense_dropout_mse_matches_torch(float64):
    """tape.gradient of MSE(Dropout(Dense(x)), y) for x, w, b, against torch autograd with the same mask."""
    rng = np.random.default_rng(6)
    x, y = rng.normal(size=(8, 5)), rng.normal(size=(8, 7))
    dense, drop = beras.Dense(5, 7), beras.Dropout(0.4)
    dense.w.assign(rng.normal(size=(5, 7)))
    dense.b.assign(rng.normal(size=(7,)))
    w, b = beras.to_numpy(dense.w).copy(), beras.to_numpy(dense.b).copy()
    xs = beras.Tensor(x)
    beras.set_seed(9)
    with beras.GradientTape() as tape:
        loss = beras.MeanSquaredError()(drop(dense(xs)), beras.Tensor(y))
    got = tape.gradient(loss, [xs, dense.w, dense.b])
    leaves = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
    scale = torch.tensor(mask_for(9, y.shape, 0.4) / 0.6)
    expected = torch.autograd.grad(
        (((leaves[0] @ leaves[1] + leaves[2]) * scale - torch.tensor(y)) ** 2).mean(), leaves)
    for mine, theirs in zip(got, expected):
        np.testing.assert_allclose(beras.to_numpy(mine), theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_one_layer_applied_twice_keeps_each_calls_mask_on_the_tape(float64):
    beras.set_seed(11)
    drop = beras.Dropout(0.5)
    x = np.random.default_rng(12).normal(size=(10, 10))
    xs = beras.Tensor(x)
    with beras.GradientTape() as tape:
        out = drop(drop(xs))
    (dx,) = tape.gradient(out, [xs])
    generator = np.random.default_rng(11)
    first, second = ((generator.random(x.shape) >= 0.5) * 2.0 for _ in range(2))
    np.testing.assert_allclose(beras.to_numpy(dx), first * second, rtol=1e-12)


@pytest.mark.parametrize("rate", [-0.1, 1, 1.5, "0.5", True, None])
def test_a_rate_outside_zero_to_one_is_refused_naming_it(rate):
    with pytest.raises(ValueError,
                       match=r"Dropout: rate must be a number with 0 <= rate < 1\. Received: rate="):
        beras.Dropout(rate)
