"""Optimizers: several apply_gradients steps with given weights and gradients, against the reference."""

from __future__ import annotations

import numpy as np
import pytest

from grader.harness import assert_close

TOL = {"rtol": 1e-9, "atol": 1e-12}
SHAPES = [(3, 4), (4,), (2, 5)]
STEPS = 5

# (id, class name, constructor kwargs)
OPTIMIZERS = [
    ("basic", "BasicOptimizer", {"learning_rate": 0.1}),
    ("sgd", "SGD", {"learning_rate": 0.05}),
    ("sgd-momentum", "SGD", {"learning_rate": 0.05, "momentum": 0.9}),
    ("sgd-nesterov", "SGD", {"learning_rate": 0.05, "momentum": 0.8, "nesterov": True}),
    ("rmsprop", "RMSProp", {"learning_rate": 0.01}),
    ("rmsprop-custom", "RMSProp", {"learning_rate": 0.02, "beta": 0.7, "epsilon": 1e-3}),
    ("adam", "Adam", {"learning_rate": 0.01}),
    ("adam-custom", "Adam", {"learning_rate": 0.05, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-4}),
]


def _label(name, kwargs):
    return f"{name}({', '.join(f'{k}={v}' for k, v in kwargs.items())})"


@pytest.mark.parametrize("opt_id,name,kwargs", OPTIMIZERS, ids=[o[0] for o in OPTIMIZERS])
def test_steps(student, reference, rng, opt_id, name, kwargs):
    start = [rng.normal(size=shape) for shape in SHAPES]
    s_params = [student.beras.Variable(value) for value in start]
    r_params = [reference.beras.Variable(value) for value in start]
    s_opt, r_opt = getattr(student.beras, name)(**kwargs), getattr(reference.beras, name)(**kwargs)
    for step in range(1, STEPS + 1):
        grads = [rng.normal(0.0, 2.0 ** (step % 3 - 1), size=shape) for shape in SHAPES]
        s_opt.apply_gradients(s_params, grads)
        r_opt.apply_gradients(r_params, grads)
        for index, (s_param, r_param) in enumerate(zip(s_params, r_params)):
            assert_close(
                s_param,
                np.array(r_param),
                **TOL,
                what=f"{_label(name, kwargs)}: parameter #{index} (shape {SHAPES[index]}) "
                f"after apply_gradients step {step} of {STEPS}",
            )


@pytest.mark.parametrize(
    "opt_id,name,kwargs",
    [OPTIMIZERS[2], OPTIMIZERS[5], OPTIMIZERS[6]],
    ids=["sgd-momentum", "rmsprop-custom", "adam"],
)
def test_state_is_kept_per_parameter(student, reference, rng, opt_id, name, kwargs):
    """Each parameter has its own state: the order of the lists may change between calls."""
    start = [rng.normal(size=shape) for shape in SHAPES]
    s_params = [student.beras.Variable(value) for value in start]
    r_params = [reference.beras.Variable(value) for value in start]
    s_opt, r_opt = getattr(student.beras, name)(**kwargs), getattr(reference.beras, name)(**kwargs)
    orders = [[0, 1, 2], [2, 0, 1], [1, 2, 0], [0, 1, 2]]
    for order in orders:
        grads = {i: rng.normal(size=SHAPES[i]) for i in order}
        s_opt.apply_gradients([s_params[i] for i in order], [grads[i] for i in order])
        r_opt.apply_gradients([r_params[i] for i in order], [grads[i] for i in order])
    for index, (s_param, r_param) in enumerate(zip(s_params, r_params)):
        assert_close(
            s_param,
            np.array(r_param),
            **TOL,
            what=f"{_label(name, kwargs)}: parameter #{index} after {len(orders)} steps in which the "
            "parameter list was passed in different orders (each parameter keeps its own `state` dict)",
        )


@pytest.mark.parametrize(
    "opt_id,name,kwargs",
    [OPTIMIZERS[3], OPTIMIZERS[4], OPTIMIZERS[7]],
    ids=["sgd-nesterov", "rmsprop", "adam-custom"],
)
def test_zero_gradient_steps(student, reference, rng, opt_id, name, kwargs):
    """Steps with all-zero gradients: momentum still moves, and nothing divides by zero."""
    start = rng.normal(size=(3, 3))
    s_param, r_param = student.beras.Variable(start), reference.beras.Variable(start)
    s_opt, r_opt = getattr(student.beras, name)(**kwargs), getattr(reference.beras, name)(**kwargs)
    for grad in (np.zeros((3, 3)), rng.normal(size=(3, 3)), np.zeros((3, 3)), np.zeros((3, 3))):
        s_opt.apply_gradients([s_param], [grad])
        r_opt.apply_gradients([r_param], [grad])
    assert_close(
        s_param,
        np.array(r_param),
        **TOL,
        what=f"{_label(name, kwargs)}: a (3, 3) parameter after steps with gradients zero, random, "
        "zero, zero",
    )
