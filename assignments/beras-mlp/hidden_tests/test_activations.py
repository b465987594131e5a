"""Activations: forward values, local gradients and the chain rule, plus extreme and zero inputs."""

from __future__ import annotations

import numpy as np
import pytest

from grader.harness import assert_close, fetch

# (id, class name, constructor kwargs)
ACTIVATIONS = [
    ("relu", "ReLU", {}),
    ("leaky_relu", "LeakyReLU", {}),
    ("leaky_relu_0.1", "LeakyReLU", {"alpha": 0.1}),
    ("sigmoid", "Sigmoid", {}),
    ("tanh", "Tanh", {}),
    ("softmax", "Softmax", {}),
]
IDS = [a[0] for a in ACTIVATIONS]
SHAPES = [(1, 4), (5, 3), (8, 10), (3, 1)]
TOL = {"rtol": 1e-7, "atol": 1e-12}


def _shape_id(shape):
    return "x".join(map(str, shape))


def _inputs(rng, shape):
    """Normal inputs of scale 2 with at least one positive and one negative value.

    On a small input of one sign ReLU is the identity or zero, and "return the input" or "return
    zeros" would pass.
    """
    x = rng.normal(0.0, 2.0, size=shape)
    x.flat[0] = abs(x.flat[0]) + 0.1
    x.flat[-1] = -abs(x.flat[-1]) - 0.1
    return x


# A softmax over one class is 1 whatever the input, and its gradient 0: "return zeros" would pass.
COMPOSE_CASES = [pytest.param(*act, shape, id=f"{act[0]}-{_shape_id(shape)}") for act in ACTIVATIONS
                 for shape in SHAPES if not (act[1] == "Softmax" and shape[-1] == 1)]


def _pair(student, reference, name, kwargs):
    return getattr(student.beras, name)(**kwargs), getattr(reference.beras, name)(**kwargs)


def _label(name, kwargs):
    return f"{name}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"


@pytest.mark.parametrize("shape", SHAPES, ids=_shape_id)
@pytest.mark.parametrize("act_id,name,kwargs", ACTIVATIONS, ids=IDS)
def test_forward(student, reference, rng, act_id, name, kwargs, shape):
    s_act, r_act = _pair(student, reference, name, kwargs)
    x = _inputs(rng, shape)
    assert_close(s_act(x), r_act(x), **TOL, what=f"{_label(name, kwargs)} on an input of shape {shape}")


def _local_forms(name, expected):
    """The accepted forms of an activation's local gradient (the reference's ``expected``)."""
    if name == "Softmax":
        return {"the Jacobian per row, (batch, classes, classes)": expected}
    full = np.einsum("bi,ij->bij", expected, np.eye(expected.shape[-1]))
    return {"dy/dx elementwise, shaped like x": expected, "the full Jacobian per row, (batch, n, n)": full}


def _check_local_gradient(s_act, r_act, name, what, assert_one_of_forms, **tol):
    grads = fetch(s_act.get_input_gradients())
    assert isinstance(grads, (list, tuple)) and len(grads) == 1, (
        f"{what}: expected a list with one array (dy/dx), received "
        f"{f'a list of {len(grads)}' if isinstance(grads, (list, tuple)) else type(grads).__name__}"
    )
    expected = np.asarray(fetch(r_act.get_input_gradients())[0])
    assert_one_of_forms(grads[0], _local_forms(name, expected), what, **tol)
    return grads


@pytest.mark.parametrize("shape", SHAPES, ids=_shape_id)
@pytest.mark.parametrize("act_id,name,kwargs", ACTIVATIONS, ids=IDS)
def test_local_gradient(student, reference, rng, assert_one_of_forms, act_id, name, kwargs, shape):
    """Elementwise layers: dy/dx shaped like x, or the full (diagonal) Jacobian per row; Softmax: its
    Jacobian."""
    s_act, r_act = _pair(student, reference, name, kwargs)
    x = _inputs(rng, shape)
    s_act(x)
    r_act(x)
    _check_local_gradient(s_act, r_act, name, f"{_label(name, kwargs)}.get_input_gradients()[0] after a call "
                          f"on {shape}", assert_one_of_forms, **TOL)


@pytest.mark.parametrize("act_id,name,kwargs,shape", COMPOSE_CASES)
def test_compose_input_gradients(student, reference, rng, assert_each_close, act_id, name, kwargs, shape):
    s_act, r_act = _pair(student, reference, name, kwargs)
    x = _inputs(rng, shape)
    upstream = rng.normal(size=shape)
    s_act(x)
    r_act(x)
    assert_each_close(
        s_act.compose_input_gradients(upstream),
        r_act.compose_input_gradients(upstream),
        ["dL/dx"],
        f"{_label(name, kwargs)}.compose_input_gradients(J) with x and J of shape {shape}",
        **TOL,
    )


def test_softmax_jacobian_agrees_with_compose(student, rng):
    """Applying your Jacobian to J by hand must give what compose_input_gradients(J) gives."""
    act = student.beras.Softmax()
    x = rng.normal(0.0, 2.0, size=(4, 5))
    upstream = rng.normal(size=(4, 5))
    act(x)
    jacobian = np.asarray(fetch(act.get_input_gradients())[0])
    while jacobian.ndim > 3 and jacobian.shape[0] == 1:  # extra leading axes of length 1 are accepted
        jacobian = jacobian[0]
    assert jacobian.shape == (4, 5, 5), (
        f"Softmax.get_input_gradients()[0] after a call on (4, 5): expected shape (4, 5, 5), "
        f"received {jacobian.shape}"
    )
    by_hand = np.einsum("bij,bi->bj", jacobian, upstream)
    assert_close(
        act.compose_input_gradients(upstream)[0],
        by_hand,
        rtol=1e-7,
        atol=1e-12,
        what="Softmax.compose_input_gradients(J)[0] compared with J applied to your own Jacobian",
    )


def _extreme(rng):
    x = rng.choice([-1000.0, -80.0, -1.0, 0.5, 80.0, 1000.0], size=(6, 5))
    x[:, 0] = 1000.0  # several equal huge logits in one row
    x[0] = -1000.0
    return x


@pytest.mark.parametrize("act_id,name,kwargs", ACTIVATIONS, ids=IDS)
def test_extreme_inputs_forward(student, reference, rng, act_id, name, kwargs):
    """Inputs of magnitude up to 1000 must give finite outputs (no overflow to NaN or inf)."""
    s_act, r_act = _pair(student, reference, name, kwargs)
    x = _extreme(rng)
    out = np.asarray(fetch(s_act(x)))
    label = _label(name, kwargs)
    assert np.isfinite(out).all(), (
        f"{label} on inputs as large as ±1000 gave {int((~np.isfinite(out)).sum())} NaN/inf values; "
        "rewrite the formula so that exp never overflows "
        "(e.g. subtract the row maximum, or use the sign of x)"
    )
    assert_close(out, r_act(x), rtol=1e-7, atol=1e-12, what=f"{label} on inputs as large as ±1000")


@pytest.mark.parametrize("act_id,name,kwargs", ACTIVATIONS, ids=IDS)
def test_extreme_inputs_gradient(student, reference, rng, assert_one_of_forms, act_id, name, kwargs):
    """After inputs of magnitude up to 1000 the local gradient is finite and right (accepted forms as
    above)."""
    s_act, r_act = _pair(student, reference, name, kwargs)
    x = _extreme(rng)
    s_act(x)
    r_act(x)
    label = _label(name, kwargs)
    grads = fetch(s_act.get_input_gradients())
    assert isinstance(grads, (list, tuple)) and all(np.isfinite(np.asarray(g)).all() for g in grads), (
        f"{label}.get_input_gradients() after inputs as large as ±1000 holds NaN/inf values"
    )
    _check_local_gradient(s_act, r_act, name,
                          f"{label}.get_input_gradients()[0] after inputs as large as ±1000",
                          assert_one_of_forms, rtol=1e-7, atol=1e-12)


# Only where the output at 0 is not 0 itself: "return the input" or "return zeros" would pass the others.
@pytest.mark.parametrize("act_id,name,kwargs", [a for a in ACTIVATIONS if a[1] in ("Sigmoid", "Softmax")],
                         ids=["sigmoid", "softmax"])
def test_zero_inputs_forward(student, reference, act_id, name, kwargs):
    s_act, r_act = _pair(student, reference, name, kwargs)
    x = np.zeros((3, 4))
    assert_close(s_act(x), r_act(x), **TOL, what=f"{_label(name, kwargs)} on all-zero inputs of shape (3, 4)")


@pytest.mark.parametrize("act_id,name,kwargs", ACTIVATIONS, ids=IDS)
def test_zero_inputs_gradient(student, reference, assert_one_of_forms, act_id, name, kwargs):
    """At exactly 0: ReLU's gradient is 0, LeakyReLU's is alpha (see the table in activations.py)."""
    s_act, r_act = _pair(student, reference, name, kwargs)
    x = np.zeros((3, 4))
    s_act(x)
    r_act(x)
    _check_local_gradient(s_act, r_act, name, f"{_label(name, kwargs)}.get_input_gradients()[0] after "
                          "all-zero inputs of shape (3, 4)", assert_one_of_forms, **TOL)
