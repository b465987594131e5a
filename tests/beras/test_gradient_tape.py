"""GradientTape: float64 finite-difference checks on MLP, residual, shared-weight and conv graphs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import beras
from beras.core import Diffable

EPS = 1e-6
RTOL = 1e-6
ATOL = 1e-9


def numeric_gradient(loss_fn, array, eps=EPS):
    """Central differences of the scalar ``loss_fn()`` with respect to ``array`` (edited in place)."""
    grad = np.zeros(array.shape, dtype=np.float64)
    for index in np.ndindex(*array.shape):
        original = float(array[index])
        array[index] = original + eps
        plus = float(loss_fn())
        array[index] = original - eps
        minus = float(loss_fn())
        array[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def check_against_fd(loss_fn, sources, grads):
    assert len(grads) == len(sources)
    for i, (source, grad) in enumerate(zip(sources, grads)):
        assert tuple(grad.shape) == tuple(source.shape), f"source #{i}"
        numeric = numeric_gradient(loss_fn, source)
        assert np.abs(numeric).max() > 1e-6, f"source #{i}: degenerate check, gradient is ~0"
        np.testing.assert_allclose(
            beras.to_numpy(grad), numeric, rtol=RTOL, atol=ATOL, err_msg=f"source #{i}"
        )


def tape_matches_fd(loss_fn, sources):
    """Record ``loss_fn`` on a tape, check its gradients by finite differences; return both."""
    with beras.GradientTape() as tape:
        loss = loss_fn()
    grads = tape.gradient(loss, sources)
    check_against_fd(loss_fn, sources, grads)
    return loss, grads


def dense(rng, n_in, n_out):
    layer = beras.Dense(n_in, n_out, initializer="xavier")
    layer.b.assign(rng.normal(0, 0.3, size=n_out))
    return layer


def tensor(rng, *shape, scale=1.0):
    return beras.Tensor(rng.normal(0, scale, size=shape))


@pytest.fixture(autouse=True)
def _no_tape_left_open():
    yield
    Diffable.gradient_tape = None


@pytest.mark.parametrize("activation", [beras.Sigmoid, beras.Tanh])
def test_two_layer_mlp_matches_finite_differences(float64, rng, activation):
    d1, act, d2 = dense(rng, 5, 7), activation(), dense(rng, 7, 4)
    softmax, loss_layer = beras.Softmax(), beras.CategoricalCrossEntropy()
    x = tensor(rng, 3, 5)
    # random positive soft labels: every output probability gets its own weight in the loss
    y = beras.Tensor(rng.uniform(0.1, 1.0, size=(3, 4)))

    def loss_fn():
        return loss_layer(softmax(d2(act(d1(x)))), y)

    _, grads = tape_matches_fd(loss_fn, [d1.w, d1.b, d2.w, d2.b, x])
    assert all(g.dtype == np.float64 for g in grads)


def test_residual_add_sums_both_paths(float64, rng):
    d1, d2, tanh, add = dense(rng, 4, 6), dense(rng, 6, 6), beras.Tanh(), beras.Add()
    mse = beras.MeanSquaredError()
    x, target = tensor(rng, 3, 4), tensor(rng, 3, 6)

    def loss_fn():
        h = d1(x)
        return mse(add(d2(tanh(h)), h), target)

    tape_matches_fd(loss_fn, [d1.w, d1.b, d2.w, d2.b, x])


def test_residual_gradient_differs_from_skip_path_alone(float64, rng):
    """Dropping the skip path changes d1's gradient: the tape must have summed it in."""
    d1, d2, tanh, add = dense(rng, 4, 6), dense(rng, 6, 6), beras.Tanh(), beras.Add()
    mse = beras.MeanSquaredError()
    x, target = tensor(rng, 3, 4), tensor(rng, 3, 6)
    with beras.GradientTape() as tape:
        h = d1(x)
        loss = mse(add(d2(tanh(h)), h), target)
    with_skip = tape.gradient(loss, d1.w)
    zeros = beras.Tensor(np.zeros((3, 6)))
    with beras.GradientTape() as tape:
        h = d1(x)
        loss = mse(add(d2(tanh(h)), zeros), target)
    without_skip = tape.gradient(loss, d1.w)
    assert not np.allclose(with_skip, without_skip, rtol=1e-3)


def test_shared_layer_gets_both_contributions(float64, rng):
    shared, tanh, mse = dense(rng, 5, 5), beras.Tanh(), beras.MeanSquaredError()
    x, target = tensor(rng, 4, 5), tensor(rng, 4, 5)

    def loss_fn():
        return mse(shared(tanh(shared(x))), target)

    loss, grads = tape_matches_fd(loss_fn, [shared.w, shared.b, x])

    # the same graph with two untied copies gives each use's contribution separately
    inner, outer = beras.Dense(5, 5), beras.Dense(5, 5)
    for copy in (inner, outer):
        copy.w.assign(shared.w)
        copy.b.assign(shared.b)
    with beras.GradientTape() as tape:
        loss_untied = mse(outer(tanh(inner(x))), target)
    g_inner, g_outer = tape.gradient(loss_untied, [inner.w, outer.w])
    assert float(loss_untied) == pytest.approx(float(loss), rel=1e-12)
    np.testing.assert_allclose(grads[0], g_inner + g_outer, rtol=1e-10, atol=1e-12)
    for single_use in (g_inner, g_outer):
        assert not np.allclose(grads[0], single_use, rtol=1e-3, atol=1e-6)


def test_tensor_feeding_two_layers_gets_sum_of_paths(float64, rng):
    d0, d1, d2 = dense(rng, 3, 4), dense(rng, 4, 5), dense(rng, 4, 5)
    tanh, sigmoid, add, mse = beras.Tanh(), beras.Sigmoid(), beras.Add(), beras.MeanSquaredError()
    x, target = tensor(rng, 2, 3), tensor(rng, 2, 5)

    def loss_fn():
        h = d0(x)  # h feeds d1 and d2; x feeds d0 only
        return mse(add(tanh(d1(h)), sigmoid(d2(h))), target)

    tape_matches_fd(loss_fn, [d0.w, d0.b, d1.w, d2.w, x])


def test_input_used_directly_by_two_layers(float64, rng):
    d1, d2, add, mse = dense(rng, 3, 4), dense(rng, 3, 4), beras.Add(), beras.MeanSquaredError()
    tanh = beras.Tanh()
    x, target = tensor(rng, 2, 3), tensor(rng, 2, 4)

    def loss_fn():
        return mse(add(tanh(d1(x)), d2(x)), target)

    tape_matches_fd(loss_fn, [x])


def test_nested_tape_raises_and_outer_tape_keeps_working(float64, rng):
    d1, d2, tanh, mse = dense(rng, 3, 4), dense(rng, 4, 2), beras.Tanh(), beras.MeanSquaredError()
    x, target = tensor(rng, 2, 3), tensor(rng, 2, 2)
    with beras.GradientTape() as outer:
        h = tanh(d1(x))
        with pytest.raises(RuntimeError, match=r"(?i)nested") as info:
            with beras.GradientTape():
                pass  # pragma: no cover - never entered
        assert "already recording" in str(info.value)
        assert Diffable.gradient_tape is outer
        loss = mse(d2(h), target)
    assert Diffable.gradient_tape is None
    sources = [d1.w, d2.w, x]
    check_against_fd(lambda: mse(d2(tanh(d1(x))), target), sources, outer.gradient(loss, sources))


def test_tape_stops_recording_after_with_block(rng):
    layer = beras.Dense(2, 2)
    with beras.GradientTape() as tape:
        layer(tensor(rng, 1, 2))
    layer(tensor(rng, 1, 2))
    assert len(tape.records) == 1


def test_unconnected_source_gets_zeros_and_warning(float64, rng):
    used, unused, mse = dense(rng, 3, 2), dense(rng, 3, 2), beras.MeanSquaredError()
    x, target = tensor(rng, 4, 3), tensor(rng, 4, 2)
    with beras.GradientTape() as tape:
        loss = mse(used(x), target)
    with pytest.warns(UserWarning, match="not connected"):
        g_used, g_unused = tape.gradient(loss, [used.w, unused.w])
    assert g_unused.shape == unused.w.shape
    assert not np.any(g_unused)
    assert np.any(g_used)


def test_gradients_come_back_in_source_order_with_source_shapes(float64, rng):
    d1, d2, relu, mse = dense(rng, 3, 5), dense(rng, 5, 2), beras.ReLU(), beras.MeanSquaredError()
    x, target = tensor(rng, 4, 3), tensor(rng, 4, 2)
    with beras.GradientTape() as tape:
        loss = mse(d2(relu(d1(x))), target)
    order = [d2.b, x, d1.w, d2.w, d1.b]
    grads = tape.gradient(loss, order)
    assert isinstance(grads, list)
    assert [tuple(g.shape) for g in grads] == [tuple(s.shape) for s in order]
    reference = tape.gradient(loss, [d1.w, d1.b, d2.w, d2.b, x])
    by_id = dict(zip(map(id, [d1.w, d1.b, d2.w, d2.b, x]), reference))
    for source, grad in zip(order, grads):
        np.testing.assert_array_equal(grad, by_id[id(source)])
    single = tape.gradient(loss, d1.b)
    assert not isinstance(single, list)
    np.testing.assert_array_equal(single, by_id[id(d1.b)])
    assert all(isinstance(g, beras.Tensor) for g in grads)


def test_non_trainable_input_gets_no_gradient(float64, rng):
    d1, d2, tanh, mse = dense(rng, 3, 4), dense(rng, 4, 2), beras.Tanh(), beras.MeanSquaredError()
    x, target = tensor(rng, 2, 3), tensor(rng, 2, 2)
    with beras.GradientTape() as tape:
        loss = mse(d2(tanh(d1(x))), target)
    trainable_grad = tape.gradient(loss, x)
    assert np.any(trainable_grad)

    x.trainable = False
    assert x[:1].trainable is False  # views inherit the flag
    with beras.GradientTape() as tape:
        loss = mse(d2(tanh(d1(x))), target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        g_w, g_x = tape.gradient(loss, [d1.w, x])
    assert g_x.shape == x.shape
    assert not np.any(g_x)
    # weights are still trained correctly when the input is frozen
    check_against_fd(lambda: mse(d2(tanh(d1(x))), target), [d1.w], [g_w])


def test_labels_get_zero_gradient(float64, rng):
    pred_layer, label_layer = dense(rng, 3, 4), dense(rng, 3, 4)
    softmax, cce, mse = beras.Softmax(), beras.CategoricalCrossEntropy(), beras.MeanSquaredError()
    x = tensor(rng, 2, 3)
    for loss_layer, make_labels in ((cce, lambda: softmax(label_layer(x))), (mse, lambda: label_layer(x))):
        with beras.GradientTape() as tape:
            labels = make_labels()
            loss = loss_layer(softmax(pred_layer(x)), labels)
        g_labels, g_label_w, g_pred_w = tape.gradient(loss, [labels, label_layer.w, pred_layer.w])
        assert not np.any(g_labels), type(loss_layer).__name__
        assert not np.any(g_label_w), type(loss_layer).__name__
        assert np.any(g_pred_w)


def test_conv_relu_pool_dense_chain_matches_finite_differences(float64, rng):
    conv = beras.Conv2D(3, 3, padding="same", input_channels=2, initializer="kaiming")
    conv.bias.assign(rng.normal(0, 0.2, size=3))
    relu, pool, flatten = beras.ReLU(), beras.MaxPool2D(2), beras.Flatten()
    head, softmax, cce = dense(rng, 12, 4), beras.Softmax(), beras.CategoricalCrossEntropy()
    x = tensor(rng, 2, 4, 4, 2)
    y = beras.Tensor(rng.uniform(0.1, 1.0, size=(2, 4)))

    def loss_fn():
        return cce(softmax(head(flatten(pool(relu(conv(x)))))), y)

    _, grads = tape_matches_fd(loss_fn, [conv.kernel, conv.bias, x, head.w])
    assert [tuple(g.shape) for g in grads] == [(3, 3, 2, 3), (3,), (2, 4, 4, 2), (12, 4)]


def test_gradient_is_repeatable_and_leaves_layer_state_alone(float64, rng):
    shared, tanh, mse = dense(rng, 3, 3), beras.Tanh(), beras.MeanSquaredError()
    x, target = tensor(rng, 2, 3), tensor(rng, 2, 3)
    with beras.GradientTape() as tape:
        inner = shared(x)
        out = shared(tanh(inner))
        loss = mse(out, target)
    inputs_after_forward = shared.inputs
    first = tape.gradient(loss, [shared.w, x])
    second = tape.gradient(loss, [shared.w, x])
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert shared.inputs is inputs_after_forward
    assert shared.outputs[0] is out
