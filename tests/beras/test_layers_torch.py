"""Layers, activations and losses in float64, checked against PyTorch autograd as the oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import beras

EPS = 1e-7
TOL = {"rtol": 1e-10, "atol": 1e-12}


def close(actual, expected):
    """Compare a beras array (either backend) with a torch tensor or numpy array, float64-tight."""
    expected = expected.detach().numpy() if isinstance(expected, torch.Tensor) else expected
    actual = beras.to_numpy(actual)
    assert actual.shape == np.shape(expected), (actual.shape, np.shape(expected))
    np.testing.assert_allclose(actual, expected, **TOL)


def leaf(array):
    """A float64 torch leaf that requires grad (a copy: torch never touches beras' memory)."""
    return torch.tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


def vjp(out_t, inputs_t, J):
    """Torch's vector-Jacobian product of ``out_t`` with upstream ``J``."""
    return torch.autograd.grad(out_t, inputs_t, grad_outputs=torch.as_tensor(np.asarray(J, np.float64)))


def away_from_zero(rng, shape):
    """Random normals with no value near the ReLU kink at 0."""
    x = rng.normal(size=shape)
    return np.where(np.abs(x) < 1e-3, 0.5, x)


# --------------------------------------------------------------------------- single-input layers

UNARY = {
    "relu": (beras.ReLU, torch.relu),
    "leaky_relu_default": (beras.LeakyReLU, lambda x: F.leaky_relu(x, 0.3)),
    "leaky_relu_0.3": (lambda: beras.LeakyReLU(alpha=0.3), lambda x: F.leaky_relu(x, 0.3)),
    "leaky_relu_0.01": (lambda: beras.LeakyReLU(alpha=0.01), lambda x: F.leaky_relu(x, 0.01)),
    "leaky_relu_1.7": (lambda: beras.LeakyReLU(alpha=1.7), lambda x: F.leaky_relu(x, 1.7)),
    "sigmoid": (beras.Sigmoid, torch.sigmoid),
    "tanh": (beras.Tanh, torch.tanh),
    "softmax": (beras.Softmax, lambda x: torch.softmax(x, dim=-1)),
    "flatten": (beras.Flatten, lambda x: x.reshape(x.shape[0], -1)),
}
UNARY_SHAPES = [(1, 5), (4, 7), (3, 2, 6), (2, 4, 3, 2)]


@pytest.mark.parametrize("shape", UNARY_SHAPES)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_forward_matches_torch(xp, float64, rng, name, shape):
    make, fn = UNARY[name]
    x = away_from_zero(rng, shape) * 3
    out = make()(beras.Tensor(x))
    assert isinstance(out, beras.Tensor)
    close(out, fn(torch.from_numpy(x)))


@pytest.mark.parametrize("shape", UNARY_SHAPES)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_tape_gradient_matches_autograd(xp, float64, rng, name, shape):
    make, fn = UNARY[name]
    x_np = away_from_zero(rng, shape) * 3
    target = rng.normal(size=tuple(fn(torch.from_numpy(x_np)).shape))
    x = beras.Tensor(x_np)
    with beras.GradientTape() as tape:
        loss = beras.MeanSquaredError()(make()(x), beras.Tensor(target))
    (dx,) = tape.gradient(loss, [x])
    xt = leaf(x_np)
    ((fn(xt) - torch.from_numpy(target)) ** 2).mean().backward()
    close(dx, xt.grad)


@pytest.mark.parametrize("shape", UNARY_SHAPES)
@pytest.mark.parametrize("name", list(UNARY))
def test_unary_compose_matches_vjp(xp, float64, rng, name, shape):
    make, fn = UNARY[name]
    x_np = away_from_zero(rng, shape) * 3
    layer = make()
    out = layer(beras.Tensor(x_np))
    J = rng.normal(size=tuple(out.shape))
    (dx,) = layer.compose_input_gradients(beras.to_device(J))
    assert layer.compose_weight_gradients(beras.to_device(J)) == []
    xt = leaf(x_np)
    (expected,) = vjp(fn(xt), xt, J)
    close(dx, expected)


def test_softmax_local_jacobian_matches_torch(float64, rng):
    x = rng.normal(size=(3, 4))
    layer = beras.Softmax()
    layer(beras.Tensor(x))
    (jac,) = layer.get_input_gradients()
    jacobian = torch.autograd.functional.jacobian
    close(jac, np.stack([jacobian(lambda r: torch.softmax(r, -1), torch.from_numpy(row)) for row in x]))


def test_softmax_huge_logits_stay_finite_and_sum_to_one(xp, float64, rng):
    x = np.array([[1000.0, -1000.0, 0.0], [1000.0, 1000.0, -1000.0], [-1000.0, -1000.0, -1000.0]])
    layer = beras.Softmax()
    out = layer(beras.Tensor(x))
    host = beras.to_numpy(out)
    assert np.all(np.isfinite(host))
    np.testing.assert_allclose(host.sum(axis=-1), 1.0, **TOL)
    close(out, torch.softmax(torch.from_numpy(x), -1))
    J = rng.normal(size=x.shape)
    (dx,) = layer.compose_input_gradients(beras.to_device(J))
    xt = leaf(x)
    close(dx, vjp(torch.softmax(xt, -1), xt, J)[0])


@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_saturating_activations_at_extremes(xp, float64, name):
    make, fn = UNARY[name]
    x_np = np.array([[1000.0, -1000.0, 0.0, 30.0, -30.0, 745.0, -745.0]])
    x = beras.Tensor(x_np)
    with beras.GradientTape() as tape:
        out = make()(x)
        loss = beras.MeanSquaredError()(out, beras.Tensor(np.full(x_np.shape, 0.25)))
    (dx,) = tape.gradient(loss, [x])
    assert np.all(np.isfinite(beras.to_numpy(out))) and np.all(np.isfinite(beras.to_numpy(dx)))
    xt = leaf(x_np)
    ((fn(xt) - 0.25) ** 2).mean().backward()
    close(out, fn(torch.from_numpy(x_np)))
    close(dx, xt.grad)
    assert beras.to_numpy(dx)[0, 0] == 0.0 and beras.to_numpy(dx)[0, 1] == 0.0


# --------------------------------------------------------------------------- Dense

DENSE_SHAPES = [(1, 3, 2), (5, 4, 3), (8, 6, 1)]  # batch, input_size, output_size


def make_dense(rng, n_in, n_out):
    layer = beras.Dense(n_in, n_out)
    assert beras.to_numpy(layer.w).dtype == np.float64
    w, b = rng.normal(size=(n_in, n_out)), rng.normal(size=(n_out,))
    layer.w.assign(w)
    layer.b.assign(b)  # a non-zero bias, so the bias really is tested
    return layer, w, b


@pytest.mark.parametrize("batch,n_in,n_out", DENSE_SHAPES)
def test_dense_forward_matches_torch(xp, float64, rng, batch, n_in, n_out):
    layer, w, b = make_dense(rng, n_in, n_out)
    x = rng.normal(size=(batch, n_in))
    close(layer(beras.Tensor(x)), F.linear(torch.from_numpy(x), torch.from_numpy(w).T, torch.from_numpy(b)))


@pytest.mark.parametrize("batch,n_in,n_out", DENSE_SHAPES)
def test_dense_tape_gradients_match_autograd(xp, float64, rng, batch, n_in, n_out):
    layer, w, b = make_dense(rng, n_in, n_out)
    x_np, target = rng.normal(size=(batch, n_in)), rng.normal(size=(batch, n_out))
    x = beras.Tensor(x_np)
    with beras.GradientTape() as tape:
        loss = beras.MeanSquaredError()(layer(x), beras.Tensor(target))
    grads = tape.gradient(loss, [x, layer.w, layer.b])
    xt, wt, bt = leaf(x_np), leaf(w), leaf(b)
    loss_t = ((xt @ wt + bt - torch.from_numpy(target)) ** 2).mean()
    loss_t.backward()
    close(loss, loss_t)
    for got, want in zip(grads, (xt.grad, wt.grad, bt.grad)):
        close(got, want)


@pytest.mark.parametrize("batch,n_in,n_out", DENSE_SHAPES)
def test_dense_compose_matches_vjp(xp, float64, rng, batch, n_in, n_out):
    layer, w, b = make_dense(rng, n_in, n_out)
    x_np = rng.normal(size=(batch, n_in))
    layer(beras.Tensor(x_np))
    J = rng.normal(size=(batch, n_out))
    (dx,) = layer.compose_input_gradients(beras.to_device(J))
    dw, db = layer.compose_weight_gradients(beras.to_device(J))
    xt, wt, bt = leaf(x_np), leaf(w), leaf(b)
    want_x, want_w, want_b = vjp(xt @ wt + bt, (xt, wt, bt), J)
    close(dx, want_x)
    close(dw, want_w)
    close(db, want_b)


def test_two_layer_network_gradients_match_autograd(xp, float64, rng):
    d1, w1, b1 = make_dense(rng, 5, 6)
    d2, w2, b2 = make_dense(rng, 6, 3)
    x_np = away_from_zero(rng, (4, 5))
    y = np.eye(3)[[0, 2, 1, 2]]
    x = beras.Tensor(x_np)
    with beras.GradientTape() as tape:
        probs = beras.Softmax()(d2(beras.LeakyReLU(0.2)(d1(x))))
        loss = beras.CategoricalCrossEntropy()(probs, beras.Tensor(y))
    grads = tape.gradient(loss, [x, d1.w, d1.b, d2.w, d2.b])
    leaves = [leaf(a) for a in (x_np, w1, b1, w2, b2)]
    xt, w1t, b1t, w2t, b2t = leaves
    p = torch.softmax(F.leaky_relu(xt @ w1t + b1t, 0.2) @ w2t + b2t, -1)
    loss_t = -(torch.from_numpy(y) * p.clamp(EPS, 1 - EPS).log()).sum() / 4
    loss_t.backward()
    close(loss, loss_t)
    for got, t in zip(grads, leaves):
        close(got, t.grad)


# --------------------------------------------------------------------------- MaxPool2D


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def torch_maxpool(x_nhwc, pool, strides, padding):
    """TF-semantics max pooling in torch: NHWC -> NCHW, explicit -inf SAME padding, back to NHWC."""
    (fh, fw), (sh, sw) = _pair(pool), _pair(pool if strides is None else strides)
    x = x_nhwc.permute(0, 3, 1, 2)
    if padding == "same":
        pads = []
        for n, f, s in ((x.shape[2], fh, sh), (x.shape[3], fw, sw)):
            total = max((math.ceil(n / s) - 1) * s + f - n, 0)
            pads.append((total // 2, total - total // 2))
        x = F.pad(x, (*pads[1], *pads[0]), value=-math.inf)
    return F.max_pool2d(x, (fh, fw), (sh, sw)).permute(0, 2, 3, 1)


POOL_CASES = [  # pool_size, strides, padding, NHWC input shape
    (2, None, "valid", (2, 6, 8, 3)),
    (2, 1, "valid", (1, 5, 7, 2)),
    (3, None, "valid", (2, 9, 7, 1)),  # 7 is not a multiple of 3: the remainder is dropped
    (3, 2, "valid", (2, 7, 8, 2)),
    (2, None, "same", (2, 5, 7, 3)),  # odd sizes: one -inf row/column at the bottom/right
    (2, 1, "same", (1, 4, 5, 2)),
    (3, None, "same", (2, 7, 5, 2)),
    (3, 2, "same", (2, 6, 9, 1)),
    (3, 1, "same", (1, 5, 4, 2)),  # P = 2: one on each side
    (4, 1, "same", (1, 5, 6, 1)),  # P = 3: one on top/left, two on bottom/right
    ((2, 3), (1, 2), "same", (2, 5, 6, 2)),
]
POOL_IDS = [f"pool{p}-s{s}-{pad}-{'x'.join(map(str, shp))}" for p, s, pad, shp in POOL_CASES]


@pytest.mark.parametrize("pool,strides,padding,shape", POOL_CASES, ids=POOL_IDS)
def test_maxpool_forward_matches_torch(xp, float64, rng, pool, strides, padding, shape):
    x = rng.normal(size=shape)
    out = beras.MaxPool2D(pool, strides, padding)(beras.Tensor(x))
    close(out, torch_maxpool(torch.from_numpy(x), pool, strides, padding))


@pytest.mark.parametrize("pool,strides,padding,shape", POOL_CASES, ids=POOL_IDS)
def test_maxpool_tape_gradient_matches_autograd(xp, float64, rng, pool, strides, padding, shape):
    x_np = rng.normal(size=shape)
    xt = leaf(x_np)
    out_t = torch_maxpool(xt, pool, strides, padding)
    target = rng.normal(size=tuple(out_t.shape))
    x = beras.Tensor(x_np)
    with beras.GradientTape() as tape:
        loss = beras.MeanSquaredError()(beras.MaxPool2D(pool, strides, padding)(x), beras.Tensor(target))
    (dx,) = tape.gradient(loss, [x])
    ((out_t - torch.from_numpy(target)) ** 2).mean().backward()
    close(dx, xt.grad)


@pytest.mark.parametrize("pool,strides,padding,shape", POOL_CASES, ids=POOL_IDS)
def test_maxpool_compose_matches_vjp(xp, float64, rng, pool, strides, padding, shape):
    x_np = rng.normal(size=shape)
    layer = beras.MaxPool2D(pool, strides, padding)
    out = layer(beras.Tensor(x_np))
    J = rng.normal(size=tuple(out.shape))
    (dx,) = layer.compose_input_gradients(beras.to_device(J))
    assert layer.compose_weight_gradients(beras.to_device(J)) == []
    xt = leaf(x_np)
    close(dx, vjp(torch_maxpool(xt, pool, strides, padding), xt, J)[0])


# --------------------------------------------------------------------------- Add

ADD_SHAPES = [(1, 4), (3, 5), (2, 3, 4, 2)]


@pytest.mark.parametrize("shape", ADD_SHAPES)
def test_add_forward_tape_and_compose_match_torch(xp, float64, rng, shape):
    a_np, b_np, target, J = (rng.normal(size=shape) for _ in range(4))
    a, b = beras.Tensor(a_np), beras.Tensor(b_np)
    layer = beras.Add()
    with beras.GradientTape() as tape:
        out = layer(a, b)
        loss = beras.MeanSquaredError()(out, beras.Tensor(target))
    da, db = tape.gradient(loss, [a, b])
    at, bt = leaf(a_np), leaf(b_np)
    ((at + bt - torch.from_numpy(target)) ** 2).mean().backward()
    close(out, torch.from_numpy(a_np + b_np))
    close(da, at.grad)
    close(db, bt.grad)
    layer(a, b)
    got_a, got_b = layer.compose_input_gradients(beras.to_device(J))
    at, bt = leaf(a_np), leaf(b_np)
    want_a, want_b = vjp(at + bt, (at, bt), J)
    close(got_a, want_a)
    close(got_b, want_b)


def test_residual_connection_sums_both_paths(xp, float64, rng):
    x_np, target = away_from_zero(rng, (3, 4)), rng.normal(size=(3, 4))
    x = beras.Tensor(x_np)
    with beras.GradientTape() as tape:
        out = beras.Add()(beras.Tanh()(x), x)
        loss = beras.MeanSquaredError()(out, beras.Tensor(target))
    (dx,) = tape.gradient(loss, [x])
    xt = leaf(x_np)
    ((torch.tanh(xt) + xt - torch.from_numpy(target)) ** 2).mean().backward()
    close(dx, xt.grad)


# --------------------------------------------------------------------------- losses

LOSSES = {
    "mse": beras.MeanSquaredError,
    "cce": beras.CategoricalCrossEntropy,
    "bce": beras.BinaryCrossEntropy,
}
LOSS_SHAPES = [(1, 4), (6, 3), (3, 2, 5)]


def torch_loss(name, p, y):
    if name == "mse":
        return ((p - y) ** 2).mean()
    q = p.clamp(EPS, 1 - EPS)
    if name == "cce":
        return -(y * q.log()).sum() / p.shape[0]
    return -(y * q.log() + (1 - y) * (1 - q).log()).mean()


def loss_data(name, rng, shape):
    """(y_pred, y_true) suited to each loss; 3-D shapes use soft labels."""
    if name == "mse":
        return rng.normal(size=shape), rng.normal(size=shape)
    if name == "cce":
        pred = torch.softmax(torch.from_numpy(rng.normal(size=shape)), -1).numpy()
        if len(shape) == 3:
            return pred, torch.softmax(torch.from_numpy(rng.normal(size=shape)), -1).numpy()
        return pred, np.eye(shape[-1])[rng.integers(shape[-1], size=shape[:-1])]
    pred = rng.uniform(0.02, 0.98, size=shape)
    labels = rng.uniform(size=shape) if len(shape) == 3 else (rng.uniform(size=shape) < 0.5) * 1.0
    return pred, labels


@pytest.mark.parametrize("shape", LOSS_SHAPES)
@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_forward_matches_torch(xp, float64, rng, name, shape):
    p, y = loss_data(name, rng, shape)
    value = LOSSES[name]()(beras.Tensor(p), beras.Tensor(y))
    assert beras.to_numpy(value).shape == ()
    close(value, torch_loss(name, torch.from_numpy(p), torch.from_numpy(y)))


@pytest.mark.parametrize("shape", LOSS_SHAPES)
@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_tape_and_compose_match_autograd(xp, float64, rng, name, shape):
    p_np, y_np = loss_data(name, rng, shape)
    p = beras.Tensor(p_np)
    loss_fn = LOSSES[name]()
    with beras.GradientTape() as tape:
        loss = loss_fn(p, beras.Tensor(y_np))
    (dp,) = tape.gradient(loss, [p])
    pt = leaf(p_np)
    loss_t = torch_loss(name, pt, torch.from_numpy(y_np))
    (want,) = torch.autograd.grad(loss_t, pt, retain_graph=True)
    close(dp, want)
    J = 0.7
    got_p, got_y = loss_fn.compose_input_gradients(beras.to_device(np.array(J)))
    close(got_p, vjp(loss_t, pt, J)[0])
    close(got_y, np.zeros(shape))  # labels are not trained


@pytest.mark.parametrize("name", ["cce", "bce"])
def test_loss_clips_predictions_at_exactly_zero_and_one(xp, float64, name):
    p_np = np.array([[0.0, 1.0, 0.3, EPS], [1.0, 0.0, 0.5, 1 - EPS], [1.0, 0.0, 0.6, 0.2]])
    y_np = np.array([[1.0, 0.0, 0.0, 1.0], [1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 1.0, 0.0]])
    p = beras.Tensor(p_np)
    with beras.GradientTape() as tape:
        loss = LOSSES[name]()(p, beras.Tensor(y_np))
    (dp,) = tape.gradient(loss, [p])
    pt = leaf(p_np)
    loss_t = torch_loss(name, pt, torch.from_numpy(y_np))
    loss_t.backward()
    clipped = (p_np == 0.0) | (p_np == 1.0)
    assert np.all(pt.grad.numpy()[clipped] == 0.0)  # torch's clamp: zero gradient where clipped
    host = beras.to_numpy(dp)
    assert np.isfinite(float(beras.to_numpy(loss))) and np.all(np.isfinite(host))
    assert np.all(host[clipped] == 0.0)
    assert np.any(host[~clipped] != 0.0)
    close(loss, loss_t)
    close(dp, pt.grad)


# --------------------------------------------------------------------------- error messages


def test_dense_wrong_feature_count_names_layer_and_shape(float64):
    with pytest.raises(ValueError) as info:
        beras.Dense(3, 2)(beras.Tensor(np.zeros((4, 5))))
    assert "Dense" in str(info.value) and "(4, 5)" in str(info.value)


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_shape_mismatch_names_both_shapes(float64, name):
    with pytest.raises(ValueError) as info:
        LOSSES[name]()(beras.Tensor(np.full((2, 3), 0.5)), beras.Tensor(np.full((3, 2), 0.5)))
    assert "(2, 3)" in str(info.value) and "(3, 2)" in str(info.value)


def test_maxpool_bogus_padding_is_rejected():
    with pytest.raises(ValueError, match="Received") as info:
        beras.MaxPool2D(2, padding="bogus")
    assert "bogus" in str(info.value) and "MaxPool2D" in str(info.value)
