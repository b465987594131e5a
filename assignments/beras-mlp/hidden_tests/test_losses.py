"""Losses: values and gradients against the reference, and clipping at predictions of exactly 0 and 1."""

from __future__ import annotations

import numpy as np
import pytest

from grader.harness import assert_close, fetch

LOSSES = ["MeanSquaredError", "CategoricalCrossEntropy", "BinaryCrossEntropy"]
SHAPES = [(1, 3), (4, 2), (8, 10), (5, 1)]
TOL = {"rtol": 1e-7, "atol": 1e-12}


def _prediction_gradient(loss, what):
    """The first array of ``loss.get_input_gradients()`` (dL/dy_pred); a list of one or two arrays is
    accepted."""
    grads = fetch(loss.get_input_gradients())
    assert isinstance(grads, (list, tuple)) and len(grads) in (1, 2), (
        f"{what}: expected a list [dL/dy_pred, dL/dy_true] (or [dL/dy_pred]), received "
        f"{f'a list of {len(grads)}' if isinstance(grads, (list, tuple)) else type(grads).__name__}"
    )
    grad = np.asarray(grads[0])
    while grad.ndim > 2 and grad.shape[0] == 1:  # extra leading axes of length 1 hold the same values
        grad = grad[0]
    return grad


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


def _soft(rng):
    y_pred, _ = _inputs(rng, "CategoricalCrossEntropy", (6, 4))
    return y_pred, rng.dirichlet(np.ones(4), size=6)


def test_categorical_cross_entropy_soft_labels(student, reference, rng):
    """Labels need not be one-hot: every class's log-probability is weighted by its label."""
    y_pred, y_true = _soft(rng)
    assert_close(
        _vector(student.beras.CategoricalCrossEntropy()(y_pred, y_true)),
        _vector(reference.beras.CategoricalCrossEntropy()(y_pred, y_true)),
        **TOL,
        what="CategoricalCrossEntropy()(y_pred, y_true) with soft (non one-hot) labels of shape (6, 4)",
    )


def test_categorical_cross_entropy_soft_labels_gradient(student, reference, rng):
    """dL/dy_pred with soft labels (the label gradient is checked on its own, below)."""
    y_pred, y_true = _soft(rng)
    s_loss, r_loss = student.beras.CategoricalCrossEntropy(), reference.beras.CategoricalCrossEntropy()
    s_loss(y_pred, y_true)
    r_loss(y_pred, y_true)
    what = "CategoricalCrossEntropy().get_input_gradients()[0] (dL/dy_pred) with soft labels of shape (6, 4)"
    assert_close(_prediction_gradient(s_loss, what), r_loss.get_input_gradients()[0], **TOL, what=what)


@pytest.mark.parametrize("shape", SHAPES, ids=_shape_id)
@pytest.mark.parametrize("name", LOSSES)
def test_input_gradients(student, reference, rng, name, shape):
    """dL/dy_pred; the list may hold it alone or with the label gradient (judged by its own test)."""
    y_pred, y_true = _inputs(rng, name, shape)
    s_loss, r_loss = getattr(student.beras, name)(), getattr(reference.beras, name)()
    s_loss(y_pred, y_true)
    r_loss(y_pred, y_true)
    what = f"{name}().get_input_gradients()[0] (dL/dy_pred) after a call on inputs of shape {shape}"
    assert_close(_prediction_gradient(s_loss, what), r_loss.get_input_gradients()[0], **TOL, what=what)


@pytest.mark.parametrize("name", LOSSES)
def test_label_gradient_is_zero(student, rng, name):
    """Labels are not trained: the second array of get_input_gradients() is zeros shaped like y_true."""
    y_pred, y_true = _inputs(rng, name, (4, 3))
    loss = getattr(student.beras, name)()
    loss(y_pred, y_true)
    grads = fetch(loss.get_input_gradients())
    assert isinstance(grads, (list, tuple)) and len(grads) == 2, (
        f"{name}().get_input_gradients() must return [dL/dy_pred, dL/dy_true]; the second, for the labels, "
        "is zeros (labels are not trained)"
    )
    # A loss whose every gradient is zero would pass the check below: dL/dy_pred must not be all zeros
    # (its values are judged by test_input_gradients, not here).
    assert np.any(np.asarray(grads[0]) != 0), (
        f"{name}().get_input_gradients()[0] (dL/dy_pred) is all zeros for predictions that differ from "
        "the labels; the label gradient is judged only beside a real prediction gradient"
    )
    assert_close(grads[1], np.zeros((4, 3)), rtol=0, atol=0,
                 what=f"{name}().get_input_gradients()[1] (dL/dy_true: zeros, the labels are not trained)")


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


def _clipped_inputs(rng, name):
    y_pred, y_true = _inputs(rng, name, (6, 4))
    y_pred[0] = 0.0
    y_pred[1, :2] = 1.0
    y_pred[2, 1] = 0.0
    y_true[0] = 0.0
    y_true[0, 0] = 1.0  # a label on a prediction of exactly 0
    return y_pred, y_true


@pytest.mark.parametrize("name", ["CategoricalCrossEntropy", "BinaryCrossEntropy"])
def test_clipped_predictions(student, reference, rng, name):
    """Predictions of exactly 0 and 1 are clipped to [epsilon, 1 - epsilon]: the loss is finite."""
    y_pred, y_true = _clipped_inputs(rng, name)
    value = _scalar(getattr(student.beras, name)()(y_pred, y_true))
    assert np.isfinite(value), (
        f"{name} with some predictions exactly 0 or 1 gave {value}; clip y_pred to [epsilon, 1 - epsilon] "
        "before taking log"
    )
    assert_close(_vector(value), _vector(getattr(reference.beras, name)()(y_pred, y_true)), rtol=1e-7,
                 atol=1e-9, what=f"{name} with some predictions exactly 0 or 1")


@pytest.mark.parametrize("name", ["CategoricalCrossEntropy", "BinaryCrossEntropy"])
def test_clipped_predictions_gradient(student, reference, rng, name):
    """Where the clip is active dL/dy_pred is 0, and nowhere NaN or inf."""
    y_pred, y_true = _clipped_inputs(rng, name)
    s_loss, r_loss = getattr(student.beras, name)(), getattr(reference.beras, name)()
    s_loss(y_pred, y_true)
    r_loss(y_pred, y_true)
    what = f"{name}.get_input_gradients()[0] (dL/dy_pred) with some predictions exactly 0 or 1"
    grad = np.asarray(_prediction_gradient(s_loss, what))
    assert np.isfinite(grad).all(), f"{what} holds NaN/inf values"
    assert_close(grad, r_loss.get_input_gradients()[0], rtol=1e-7, atol=1e-9,
                 what=f"{what} (where the clip is active the gradient is 0)")
