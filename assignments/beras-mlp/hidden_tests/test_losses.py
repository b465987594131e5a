"""Losses: values and gradients against the reference, and clipping at predictions of exactly 0 and 1."""

from __future__ import annotations

import numpy as np
import pytest

from grader.harness import assert_close, fetch

LOSSES = ["MeanSquaredError", "CategoricalCrossEntropy", "BinaryCrossEntropy"]
SHAPES = [(1, 3), (4, 2), (8, 10), (5, 1)]
TOL = {"rtol": 1e-7, "atol": 1e-12}
GRAD_NAMES = ["dL/dy_pred", "dL/dy_true (labels are not trained: zeros)"]


def _shape_id(shape):
    return "x".join(map(str, shape))


def _scalar(value) -> float:
    """A fetched scalar (a handle or a local value) as a Python float."""
    return float(np.asarray(fetch(value), dtype=np.float64).reshape(-1)[0])


def _vector(value) -> np.ndarray:
    """A fetched value as a 1-D array, so that scalars compare like arrays."""
    return np.atleast_1d(np.asarray(fetch(value), dtype=np.float64))


def _inputs(rng, name, shape):
    """Predictions and labels of the kind each loss is used with."""
    if name == "MeanSquaredError":
        return rng.normal(size=shape), rng.normal(size=shape)
    if name == "CategoricalCrossEntropy":
        logits = rng.normal(0.0, 1.5, size=shape)
        probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
        probs /= probs.sum(axis=-1, keepdims=True)
        if shape[-1] == 1:
            probs = rng.uniform(0.2, 0.9, size=shape)  # a lone column: probabilities need not sum to 1
        labels = np.eye(shape[-1])[rng.integers(shape[-1], size=shape[0])]
        return probs, labels
    return rng.uniform(0.02, 0.98, size=shape), rng.integers(0, 2, size=shape).astype(np.float64)


@pytest.mark.parametrize("shape", SHAPES, ids=_shape_id)
@pytest.mark.parametrize("name", LOSSES)
def test_forward(student, reference, rng, name, shape):
    y_pred, y_true = _inputs(rng, name, shape)
    assert_close(
        _vector(getattr(student.beras, name)()(y_pred, y_true)),
        _vector(getattr(reference.beras, name)()(y_pred, y_true)),
        **TOL,
        what=f"{name}()(y_pred, y_true) with inputs of shape {shape} (a scalar)",
    )


def test_categorical_cross_entropy_soft_labels(student, reference, rng, assert_each_close):
    """Labels need not be one-hot: every class's log-probability is weighted by its label."""
    y_pred, _ = _inputs(rng, "CategoricalCrossEntropy", (6, 4))
    y_true = rng.dirichlet(np.ones(4), size=6)
    s_loss, r_loss = student.beras.CategoricalCrossEntropy(), reference.beras.CategoricalCrossEntropy()
    assert_close(
        _vector(s_loss(y_pred, y_true)),
        _vector(r_loss(y_pred, y_true)),
        **TOL,
        what="CategoricalCrossEntropy()(y_pred, y_true) with soft (non one-hot) labels of shape (6, 4)",
    )
    assert_each_close(
        s_loss.get_input_gradients(),
        r_loss.get_input_gradients(),
        GRAD_NAMES,
        "CategoricalCrossEntropy().get_input_gradients() with soft labels of shape (6, 4)",
        **TOL,
    )


@pytest.mark.parametrize("shape", SHAPES, ids=_shape_id)
@pytest.mark.parametrize("name", LOSSES)
def test_input_gradients(student, reference, rng, assert_each_close, name, shape):
    y_pred, y_true = _inputs(rng, name, shape)
    s_loss, r_loss = getattr(student.beras, name)(), getattr(reference.beras, name)()
    s_loss(y_pred, y_true)
    r_loss(y_pred, y_true)
    assert_each_close(
        s_loss.get_input_gradients(),
        r_loss.get_input_gradients(),
        GRAD_NAMES,
        f"{name}().get_input_gradients() after a call on inputs of shape {shape}",
        **TOL,
    )


@pytest.mark.parametrize("name", LOSSES)
def test_gradient_matches_finite_differences(student, reference, rng, name):
    """Your gradient must be the derivative of your own loss value (central differences).

    The value itself is checked against the reference first: a constant loss with a zero gradient
    agrees with itself.
    """
    y_pred, y_true = _inputs(rng, name, (3, 4))
    loss = getattr(student.beras, name)()
    assert_close(
        _vector(loss(y_pred, y_true)),
        _vector(getattr(reference.beras, name)()(y_pred, y_true)),
        **TOL,
        what=f"{name}()(y_pred, y_true) with inputs of shape (3, 4), the value differentiated below",
    )
    grad = np.asarray(fetch(loss.get_input_gradients())[0])
    eps = 1e-6
    numeric = np.zeros_like(y_pred)
    for index in np.ndindex(*y_pred.shape):
        up, down = y_pred.copy(), y_pred.copy()
        up[index] += eps
        down[index] -= eps
        numeric[index] = (_scalar(loss(up, y_true)) - _scalar(loss(down, y_true))) / (2 * eps)
    assert_close(
        grad,
        numeric,
        rtol=1e-4,
        atol=1e-7,
        what=f"{name}().get_input_gradients()[0] compared with finite differences of your own {name}",
    )


@pytest.mark.parametrize("name", ["CategoricalCrossEntropy", "BinaryCrossEntropy"])
def test_clipped_predictions(student, reference, rng, assert_each_close, name):
    """Predictions of exactly 0 and 1 are clipped to [epsilon, 1 - epsilon]: finite loss, gradient 0 there."""
    y_pred, y_true = _inputs(rng, name, (6, 4))
    y_pred[0] = 0.0
    y_pred[1, :2] = 1.0
    y_pred[2, 1] = 0.0
    y_true[0] = 0.0
    y_true[0, 0] = 1.0  # a label on a prediction of exactly 0
    s_loss, r_loss = getattr(student.beras, name)(), getattr(reference.beras, name)()
    value = _scalar(s_loss(y_pred, y_true))
    assert np.isfinite(value), (
        f"{name} with some predictions exactly 0 or 1 gave {value}; clip y_pred to [epsilon, 1 - epsilon] "
        "before taking log"
    )
    assert_close(
        _vector(value),
        _vector(r_loss(y_pred, y_true)),
        rtol=1e-7,
        atol=1e-9,
        what=f"{name} with some predictions exactly 0 or 1",
    )
    grads = fetch(s_loss.get_input_gradients())
    r_loss.get_input_gradients()
    assert all(np.isfinite(np.asarray(g)).all() for g in grads), (
        f"{name}.get_input_gradients() with some predictions exactly 0 or 1 holds NaN/inf values"
    )
    assert_each_close(
        grads,
        r_loss.get_input_gradients(),
        GRAD_NAMES,
        f"{name}.get_input_gradients() with some predictions exactly 0 or 1 "
        "(where the clip is active the gradient is 0)",
        rtol=1e-7,
        atol=1e-9,
    )
