"""Optimizers checked step by step against torch.optim in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import beras

TOL = {"rtol": 1e-10, "atol": 1e-12}
SHAPES = [(3, 4), (5,)]  # a 2-D and a 1-D parameter
STEPS = 5

CASES = {
    "basic": (
        lambda: beras.BasicOptimizer(0.1),
        lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.0),
    ),
    "sgd_no_momentum": (
        lambda: beras.SGD(0.1),
        lambda ps: torch.optim.SGD(ps, lr=0.1),
    ),
    "sgd_momentum": (
        lambda: beras.SGD(0.05, momentum=0.9),
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9),
    ),
    "sgd_nesterov": (
        lambda: beras.SGD(0.05, momentum=0.9, nesterov=True),
        lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    ),
    "rmsprop": (
        lambda: beras.RMSProp(0.01, beta=0.9, epsilon=1e-6),
        lambda ps: torch.optim.RMSprop(ps, lr=0.01, alpha=0.9, eps=1e-6),
    ),
    "rmsprop_other": (
        lambda: beras.RMSProp(0.003, beta=0.7, epsilon=1e-4),
        lambda ps: torch.optim.RMSprop(ps, lr=0.003, alpha=0.7, eps=1e-4),
    ),
    "adam": (
        lambda: beras.Adam(0.01, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
        lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-7),
    ),
    "adam_other": (
        lambda: beras.Adam(0.05, beta_1=0.8, beta_2=0.99, epsilon=1e-6),
        lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.8, 0.99), eps=1e-6),
    ),
}
STATEFUL = ["sgd_momentum", "sgd_nesterov", "rmsprop", "adam", "adam_other"]


def make_pair(name, init):
    """The beras optimizer with Variables, and the torch optimizer with leaf tensors, from ``init``."""
    make, make_torch = CASES[name]
    params = [beras.Variable(a) for a in init]
    tparams = [torch.tensor(a, requires_grad=True) for a in init]
    return make(), params, make_torch(tparams), tparams


def torch_step(opt, tparams, grads):
    for t, g in zip(tparams, grads):
        t.grad = torch.from_numpy(np.array(g, dtype=np.float64))
    opt.step()


def assert_params_match(params, tparams, step):
    for index, (p, t) in enumerate(zip(params, tparams)):
        np.testing.assert_allclose(
            beras.to_numpy(p), t.detach().numpy(), **TOL, err_msg=f"param #{index} after step {step}"
        )


def gradient_sequence(rng, shapes, scale=1.0):
    return [[rng.normal(size=s) * scale for s in shapes] for _ in range(STEPS)]


# Small gradients make the epsilon's placement (outside the square root) matter.
@pytest.mark.parametrize("scale", [1.0, 1e-6], ids=["unit-grads", "tiny-grads"])
@pytest.mark.parametrize("name", list(CASES))
def test_matches_torch_after_every_step(xp, float64, rng, name, scale):
    init = [rng.normal(size=s) for s in SHAPES]
    opt, params, topt, tparams = make_pair(name, init)
    for step, grads in enumerate(gradient_sequence(rng, SHAPES, scale), start=1):
        opt.apply_gradients(params, [beras.Tensor(g) for g in grads])
        torch_step(topt, tparams, grads)
        assert_params_match(params, tparams, step)
    for p, start in zip(params, init):
        assert np.any(beras.to_numpy(p) != start)


@pytest.mark.parametrize("name", STATEFUL)
def test_state_is_per_parameter_when_order_changes(xp, float64, rng, name):
    shapes = [(3, 4), (5,), (3, 4)]  # two same-shaped params: positional state would mix silently
    init = [rng.normal(size=s) for s in shapes]
    opt, params, topt, tparams = make_pair(name, init)
    for step, grads in enumerate(gradient_sequence(rng, shapes), start=1):
        if step == 2:
            opt.apply_gradients(params[::-1], [beras.Tensor(g) for g in grads[::-1]])
        else:
            opt.apply_gradients(params, [beras.Tensor(g) for g in grads])
        torch_step(topt, tparams, grads)
        assert_params_match(params, tparams, step)


@pytest.mark.parametrize("name", list(CASES))
def test_each_optimizer_instance_keeps_its_own_state(float64, rng, name):
    init = [rng.normal(size=s) for s in SHAPES]
    opt_a, params_a, topt, tparams = make_pair(name, init)
    opt_b, params_b, _, _ = make_pair(name, init)
    grads = gradient_sequence(rng, SHAPES)
    for step, g in enumerate(grads, start=1):
        opt_b.apply_gradients(params_b, [beras.Tensor(-3 * x) for x in g])  # unrelated traffic
        opt_a.apply_gradients(params_a, [beras.Tensor(x) for x in g])
        torch_step(topt, tparams, g)
        assert_params_match(params_a, tparams, step)


@pytest.mark.parametrize("name", list(CASES))
def test_apply_gradients_updates_in_place(float64, rng, name):
    w = beras.Variable(rng.normal(size=(3, 4)))
    before = beras.to_numpy(w).copy()
    held_view = w.view(np.ndarray)  # a view taken before the update must see the new values
    params = [w]
    opt = CASES[name][0]()
    grad = rng.normal(size=(3, 4))
    opt.apply_gradients(params, [beras.Tensor(grad)])
    assert params[0] is w
    assert isinstance(w, beras.Variable)
    assert np.all(held_view != before)
    np.testing.assert_array_equal(held_view, beras.to_numpy(w))


@pytest.mark.parametrize("name", ["basic", "sgd_momentum", "adam"])
def test_layer_weights_keep_identity_and_match_torch(xp, float64, rng, name):
    layer = beras.Dense(4, 2)
    kernel, bias = layer.w, layer.b
    bias.assign(rng.normal(size=(2,)))
    init = [beras.to_numpy(kernel).copy(), beras.to_numpy(bias).copy()]
    opt = CASES[name][0]()
    tparams = [torch.tensor(a, requires_grad=True) for a in init]
    topt = CASES[name][1](tparams)
    for step, grads in enumerate(gradient_sequence(rng, [(4, 2), (2,)]), start=1):
        opt.apply_gradients(layer.trainable_variables, [beras.Tensor(g) for g in grads])
        torch_step(topt, tparams, grads)
        assert layer.w is kernel and layer.b is bias
        assert layer.weights[0] is kernel and layer.weights[1] is bias
        assert_params_match([kernel, bias], tparams, step)


@pytest.mark.parametrize("name", list(CASES))
def test_mismatched_list_lengths_raise(float64, rng, name):
    params = [beras.Variable(rng.normal(size=s)) for s in SHAPES]
    before = [beras.to_numpy(p).copy() for p in params]
    opt = CASES[name][0]()
    with pytest.raises(ValueError) as info:
        opt.apply_gradients(params, [beras.Tensor(rng.normal(size=SHAPES[0]))])
    message = str(info.value)
    assert "2 parameters" in message and "1 gradient" in message
    for p, b in zip(params, before):
        np.testing.assert_array_equal(beras.to_numpy(p), b)


@pytest.mark.parametrize("name", list(CASES))
def test_mismatched_gradient_shape_raises(float64, rng, name):
    w = beras.Variable(rng.normal(size=(3, 4)))
    before = beras.to_numpy(w).copy()
    opt = CASES[name][0]()
    with pytest.raises(ValueError) as info:
        opt.apply_gradients([w], [beras.Tensor(rng.normal(size=(4, 3)))])
    message = str(info.value)
    assert "(4, 3)" in message and "(3, 4)" in message
    np.testing.assert_array_equal(beras.to_numpy(w), before)


def test_shape_error_on_a_later_parameter_changes_nothing():
    first, second = beras.Variable(np.ones(2)), beras.Variable(np.ones(3))
    with pytest.raises(ValueError, match=r"gradient #1 has shape \(2,\)"):
        beras.BasicOptimizer(0.5).apply_gradients([first, second], [np.ones(2), np.ones(2)])
    np.testing.assert_array_equal(beras.to_numpy(first), np.ones(2))
    np.testing.assert_array_equal(beras.to_numpy(second), np.ones(3))
