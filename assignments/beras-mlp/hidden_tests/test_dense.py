"""Dense: forward, local gradients and the chain rule, against the reference on random shapes."""

from __future__ import annotations

import numpy as np
import pytest

from grader.harness import assert_close, fetch

# (batch, input_size, output_size)
SHAPES = [(1, 3, 2), (4, 5, 3), (7, 1, 6), (16, 10, 10), (3, 8, 1)]
TOL = {"rtol": 1e-7, "atol": 1e-10}


@pytest.mark.parametrize("batch,n_in,n_out", SHAPES)
def test_forward(dense_pair, rng, batch, n_in, n_out):
    s_layer, r_layer = dense_pair(n_in, n_out)
    x = rng.normal(size=(batch, n_in))
    assert_close(
        s_layer(x),
        r_layer(x),
        **TOL,
        what=f"Dense({n_in}, {n_out}) on an input of shape {(batch, n_in)} (x @ w + b)",
    )


@pytest.mark.parametrize("batch,n_in,n_out", SHAPES[:3])
def test_forward_zero_input_gives_bias(dense_pair, batch, n_in, n_out):
    s_layer, r_layer = dense_pair(n_in, n_out)
    x = np.zeros((batch, n_in))
    assert_close(
        s_layer(x),
        r_layer(x),
        **TOL,
        what=f"Dense({n_in}, {n_out}) on all-zero inputs of shape {(batch, n_in)} (every row is b)",
    )


@pytest.mark.parametrize("batch,n_in,n_out", SHAPES)
def test_local_input_gradients(dense_pair, assert_one_of_forms, rng, batch, n_in, n_out):
    """dy/dx is the kernel: accepted as ``w`` (in, out) or as one copy per example (batch, in, out)."""
    s_layer, r_layer = dense_pair(n_in, n_out)
    x = rng.normal(size=(batch, n_in))
    s_layer(x)
    w = np.array(r_layer.w)
    grads = fetch(s_layer.get_input_gradients())
    assert isinstance(grads, (list, tuple)) and len(grads) == 1, (
        f"Dense.get_input_gradients() must return a list with one array (dy/dx), received {_describe(grads)}"
    )
    assert_one_of_forms(
        grads[0],
        {"the kernel w, (in, out)": w,
         "one kernel per example, (batch, in, out)": np.repeat(w[None], batch, 0)},
        f"Dense({n_in}, {n_out}).get_input_gradients()[0] (dy/dx) after a call on {(batch, n_in)}",
        **TOL,
    )


def _describe(value) -> str:
    return f"a list of {len(value)}" if isinstance(value, (list, tuple)) else f"a {type(value).__name__}"


def _weight_gradients(s_layer, batch, n_in, n_out):
    grads = fetch(s_layer.get_weight_gradients())
    assert isinstance(grads, (list, tuple)) and len(grads) == 2, (
        f"Dense.get_weight_gradients() must return a list of two arrays (dy/dw, dy/db), received "
        f"{_describe(grads)}"
    )
    return grads


@pytest.mark.parametrize("batch,n_in,n_out", SHAPES)
def test_local_kernel_gradient(dense_pair, assert_one_of_forms, rng, batch, n_in, n_out):
    """dy/dw is the input: accepted as ``x`` (batch, in) or as the per-example Jacobian (batch, in, out)."""
    s_layer, _ = dense_pair(n_in, n_out)
    x = rng.normal(size=(batch, n_in))
    s_layer(x)
    dw = _weight_gradients(s_layer, batch, n_in, n_out)[0]
    assert_one_of_forms(
        dw,
        {"x, (batch, in)": x, "the per-example Jacobian x[b, i] for every output, (batch, in, out)":
         np.repeat(x[:, :, None], n_out, axis=2)},
        f"Dense({n_in}, {n_out}).get_weight_gradients()[0] (dy/dw) after a call on {(batch, n_in)}",
        **TOL,
    )


@pytest.mark.parametrize("batch,n_in,n_out", SHAPES)
def test_local_bias_gradient(dense_pair, assert_one_of_forms, rng, batch, n_in, n_out):
    """dy/db is ones: accepted as (out,), as a (1, out) row, or one row per example (batch, out)."""
    s_layer, _ = dense_pair(n_in, n_out)
    s_layer(rng.normal(size=(batch, n_in)))
    db = _weight_gradients(s_layer, batch, n_in, n_out)[1]
    assert_one_of_forms(
        db,
        {"ones, (out,)": np.ones(n_out), "ones per example, (batch, out)": np.ones((batch, n_out))},
        f"Dense({n_in}, {n_out}).get_weight_gradients()[1] (dy/db) after a call on {(batch, n_in)}",
        **TOL,
    )


@pytest.mark.parametrize("batch,n_in,n_out", SHAPES)
def test_compose_input_gradients(dense_pair, assert_each_close, rng, batch, n_in, n_out):
    s_layer, r_layer = dense_pair(n_in, n_out)
    x = rng.normal(size=(batch, n_in))
    upstream = rng.normal(size=(batch, n_out))
    s_layer(x)
    r_layer(x)
    assert_each_close(
        s_layer.compose_input_gradients(upstream),
        r_layer.compose_input_gradients(upstream),
        ["dL/dx"],
        f"Dense({n_in}, {n_out}).compose_input_gradients(J) with x {(batch, n_in)} and J {(batch, n_out)}",
        **TOL,
    )


@pytest.mark.parametrize("batch,n_in,n_out", SHAPES)
def test_compose_weight_gradients(dense_pair, assert_each_close, rng, batch, n_in, n_out):
    s_layer, r_layer = dense_pair(n_in, n_out)
    x = rng.normal(size=(batch, n_in))
    upstream = rng.normal(size=(batch, n_out))
    s_layer(x)
    r_layer(x)
    assert_each_close(
        s_layer.compose_weight_gradients(upstream),
        r_layer.compose_weight_gradients(upstream),
        ["dL/dw", "dL/db"],
        f"Dense({n_in}, {n_out}).compose_weight_gradients(J) with x {(batch, n_in)} and J {(batch, n_out)}",
        **TOL,
    )


def test_gradients_follow_the_latest_call(dense_pair, assert_each_close, rng):
    """The chain rule must use the input of the most recent call, not the first one."""
    s_layer, r_layer = dense_pair(4, 3)
    for batch in (2, 5):
        x = rng.normal(size=(batch, 4))
        s_layer(x)
        r_layer(x)
    upstream = rng.normal(size=(5, 3))
    assert_each_close(
        s_layer.compose_weight_gradients(upstream),
        r_layer.compose_weight_gradients(upstream),
        ["dL/dw", "dL/db"],
        "Dense(4, 3).compose_weight_gradients(J) after calls on (2, 4) and then (5, 4) inputs",
        **TOL,
    )
