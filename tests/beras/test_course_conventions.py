"""The course handout's conventions, accepted by the reference: (1, n) biases, lists, spellings.

The course's own handout tests (its BERAS repository) drive Beras in ways our contract did
not plan for: a bias assigned as ``(1, output_size)``, Python lists handed to the metric,
the encoder and the losses, initializer names with a space, ``Adam(amsgrad=False)``. These
are our own tests of the same conventions (the course's code is not copied here); the
gradient checks use PyTorch or a hand-derived value as the oracle. ``tools/course_check.py``
runs the course's tests themselves, unchanged, outside ``make test``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import beras
from beras import initializers
from grader.authoring.stubs import render_stub

# --- Variable.assign: leading axes of length 1 -------------------------------------------


def test_bias_assigned_as_a_row_fills_a_flat_bias():
    layer = beras.Dense(3, 4)
    address = layer.b.__array_interface__["data"][0]
    result = layer.b.assign(np.arange(4.0).reshape(1, 4))
    assert result is layer.b
    assert layer.b.shape == (4,)
    assert layer.b.__array_interface__["data"][0] == address  # in place, the tape's identity kept
    np.testing.assert_array_equal(beras.to_numpy(layer.b), [0.0, 1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    ("var_shape", "value"),
    [
        ((1,), [[2.5]]),  # a nested list one axis deeper
        ((3,), np.full((1, 1, 3), 2.5)),  # several leading axes
        ((1, 3), np.full(3, 2.5)),  # the other way round: a flat value into a row
        ((1,), 2.5),  # a number into a one-element bias
    ],
)
def test_assign_accepts_shapes_that_differ_by_leading_ones(var_shape, value):
    v = beras.Variable(np.zeros(var_shape))
    v.assign(value)
    assert v.shape == var_shape
    np.testing.assert_array_equal(beras.to_numpy(v), np.full(var_shape, 2.5))


@pytest.mark.parametrize(
    ("var_shape", "value_shape"),
    [((3,), (3, 1)), ((2, 3), (3, 2)), ((3,), (1, 4)), ((2, 3), (2, 1, 3))],
)
def test_assign_refuses_every_other_shape_difference(var_shape, value_shape):
    """A column for a row, a transposed kernel, a wrong length: real bugs, still refused."""
    v = beras.Variable(np.ones(var_shape))
    with pytest.raises(ValueError) as info:
        v.assign(np.zeros(value_shape))
    assert str(var_shape) in str(info.value) and str(value_shape) in str(info.value)
    np.testing.assert_array_equal(beras.to_numpy(v), np.ones(var_shape))


def test_assign_of_a_ragged_list_says_so():
    v = beras.Variable(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="ragged"):
        v.assign([[1.0, 2.0], [3.0]])


# --- lists and other array-likes ------------------------------------------------------------


def test_categorical_accuracy_takes_lists_of_labels():
    probs = np.array([[0.2, 0.5, 0.3], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    labels = [[0, 1, 0], [0, 0, 1], [0, 0, 1]]  # hits: yes, no, yes
    assert float(beras.CategoricalAccuracy()(probs, labels)) == pytest.approx(2 / 3)
    assert float(beras.CategoricalAccuracy()(probs.tolist(), labels)) == pytest.approx(2 / 3)
    assert float(beras.CategoricalAccuracy()(beras.Tensor(probs), tuple(labels))) == pytest.approx(2 / 3)


def test_categorical_accuracy_still_refuses_mismatched_lists():
    with pytest.raises(ValueError, match="same shape"):
        beras.CategoricalAccuracy()([[0.2, 0.8]], [[0, 1, 0]])


def test_onehot_encoder_takes_lists_and_tuples():
    encoder = beras.OneHotEncoder().fit([4, 1, 9, 1])
    np.testing.assert_array_equal(encoder.classes, [1, 4, 9])
    encoded = beras.to_numpy(encoder((9, 4)))
    np.testing.assert_array_equal(encoded, [[0, 0, 1], [0, 1, 0]])
    np.testing.assert_array_equal(encoder.inverse([[0.1, 0.2, 0.7], [0.8, 0.1, 0.1]]), [9, 1])
    with pytest.raises(ValueError, match="1-D"):
        encoder([[1], [4]])


@pytest.mark.parametrize("loss_name", ["MeanSquaredError", "CategoricalCrossEntropy", "BinaryCrossEntropy"])
def test_losses_take_lists(loss_name):
    y_pred = [[0.2, 0.7, 0.1], [0.5, 0.25, 0.25]]
    y_true = [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    from_lists = getattr(beras, loss_name)()(y_pred, y_true)
    from_arrays = getattr(beras, loss_name)()(np.array(y_pred), np.array(y_true))
    assert float(from_lists) == float(from_arrays)
    with pytest.raises(ValueError, match="same shape"):
        getattr(beras, loss_name)()(y_pred, y_true[0])


def test_mse_of_integer_arrays_is_the_mean_squared_difference():
    """The handout feeds MSE random integers; the value must not be truncated to an int."""
    a, b = np.array([[1, 4, 0], [7, 2, 2]]), np.array([[2, 4, 3], [5, 2, 9]])
    expected = ((1 + 0 + 9) + (4 + 0 + 49)) / 6  # 10.5
    assert float(beras.MeanSquaredError()(a, b)) == expected


def test_dense_takes_nested_lists_and_names_the_shape_it_received():
    layer = beras.Dense(2, 3)
    rows = [[1.0, -2.0], [0.5, 0.0]]
    np.testing.assert_allclose(beras.to_numpy(layer(rows)), beras.to_numpy(layer(np.array(rows))))
    with pytest.raises(ValueError, match=r"Received: input of shape \(2,\)"):
        layer([1.0, 2.0])
    with pytest.raises(ValueError, match="ragged"):
        layer([[1.0, 2.0], [3.0]])


def test_conv_and_pool_checks_report_the_shape_of_a_list():
    with pytest.raises(ValueError, match=r"Received: input of shape \(2, 2\)"):
        beras.Conv2D(2, 3)([[1.0, 2.0], [3.0, 4.0]])
    with pytest.raises(ValueError, match=r"Received: input of shape \(2, 2\)"):
        beras.MaxPool2D(2)([[1.0, 2.0], [3.0, 4.0]])


# --- spellings and arguments the handout uses ----------------------------------------------


@pytest.mark.parametrize(
    ("course", "ours"),
    [
        ("xavier uniform", "xavier_uniform"),
        ("Kaiming Uniform", "kaiming_uniform"),
        ("kaiming-uniform", "kaiming_uniform"),
    ],
)
def test_initializer_names_with_a_space(course, ours):
    initializers.set_seed(7)
    spelled = beras.to_numpy(beras.Dense(5, 3, initializer=course).w)
    initializers.set_seed(7)
    expected = beras.to_numpy(beras.Dense(5, 3, initializer=ours).w)
    np.testing.assert_array_equal(spelled, expected)
    assert np.abs(spelled).max() > 0  # a real draw, not the zero initializer


def test_unknown_initializer_still_refused():
    with pytest.raises(ValueError, match="xavier uniformly"):
        beras.Dense(5, 3, initializer="xavier uniformly")


def test_adam_accepts_amsgrad_false_and_refuses_true(float64):
    w = beras.Variable(np.ones(3))
    beras.Adam(0.1, amsgrad=False).apply_gradients([w], [np.ones(3)])
    np.testing.assert_allclose(beras.to_numpy(w), np.full(3, 0.9), rtol=1e-6)
    with pytest.raises(ValueError, match="amsgrad"):
        beras.Adam(0.1, amsgrad=True)


@pytest.mark.parametrize("name", ["BasicOptimizer", "SGD", "RMSProp", "Adam"])
def test_optimizers_take_a_bias_gradient_with_a_leading_axis(float64, name):
    """Two steps with (1, n) gradients land where two steps with (n,) gradients land."""
    rng = np.random.default_rng(3)
    grads = [rng.normal(size=4) for _ in range(2)]
    flat, row = beras.Variable(np.ones(4)), beras.Variable(np.ones(4))
    opt_flat, opt_row = getattr(beras, name)(0.1), getattr(beras, name)(0.1)
    for g in grads:
        opt_flat.apply_gradients([flat], [g])
        opt_row.apply_gradients([row], [g.reshape(1, 4)])
    assert row.shape == (4,)
    np.testing.assert_array_equal(beras.to_numpy(row), beras.to_numpy(flat))
    with pytest.raises(ValueError, match=r"\(4, 1\)"):
        opt_row.apply_gradients([row], [np.ones((4, 1))])


# --- exact gradients of a small two-layer network -------------------------------------------


def _two_layer_net(rng):
    """Dense(3, 2) -> LeakyReLU -> Dense(2, 1), float64, biases assigned as (1, n) rows."""
    first, second = beras.Dense(3, 2), beras.Dense(2, 1)
    params = {
        "w1": rng.normal(0, 0.5, (3, 2)), "b1": rng.normal(0, 0.5, (1, 2)),
        "w2": rng.normal(0, 0.5, (2, 1)), "b2": rng.normal(0, 0.5, (1, 1)),
    }
    for layer, w, b in ((first, "w1", "b1"), (second, "w2", "b2")):
        layer.w.assign(params[w])
        layer.b.assign(params[b])
    return first, second, params


def test_two_layer_gradients_match_pytorch(float64):
    rng = np.random.default_rng(11)
    first, second, params = _two_layer_net(rng)
    act = beras.LeakyReLU()  # the handout's default slope, 0.3
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 1))
    with beras.GradientTape() as tape:
        loss = beras.MeanSquaredError()(second(act(first(beras.Tensor(x)))), beras.Tensor(y))
    variables = first.trainable_variables + second.trainable_variables
    grads = tape.gradient(loss, variables)

    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    hidden = torch.nn.functional.leaky_relu(torch.tensor(x) @ t["w1"] + t["b1"], negative_slope=0.3)
    t_loss = torch.mean((hidden @ t["w2"] + t["b2"] - torch.tensor(y)) ** 2)
    t_loss.backward()

    assert float(loss) == pytest.approx(t_loss.item(), rel=1e-12)
    for grad, var, key in zip(grads, variables, ("w1", "b1", "w2", "b2")):
        assert grad.shape == var.shape  # a (1, n)-assigned bias still has an (n,) gradient
        expected = t[key].grad.numpy().reshape(var.shape)
        np.testing.assert_allclose(beras.to_numpy(grad), expected, rtol=1e-10, atol=1e-12)


def test_one_neuron_gradient_by_hand(float64):
    """y = 2 * (-1.5) + 0.5 = -2.5 against 4: dL/dy = 2 * (-6.5) = -13, dL/dw = -26, dL/db = -13."""
    layer = beras.Dense(1, 1, initializer="zero")
    layer.w.assign([[-1.5]])
    layer.b.assign([[0.5]])  # the handout's (1, 1) bias into our (1,)
    with beras.GradientTape() as tape:
        loss = beras.MeanSquaredError()(layer(beras.Tensor([[2.0]])), beras.Tensor([[4.0]]))
    dw, db = tape.gradient(loss, layer.trainable_variables)
    assert float(loss) == pytest.approx(42.25)
    assert float(beras.to_numpy(dw).item()) == pytest.approx(-26.0)
    assert float(beras.to_numpy(db).item()) == pytest.approx(-13.0)


def test_sequential_forward_shape_for_one_example():
    model = beras.SequentialModel([beras.Dense(10, 5), beras.ReLU(), beras.Dense(5, 1)])
    out = model(np.random.default_rng(0).uniform(size=(1, 10)))
    assert out.shape == (1, 1)


# --- the starter: given code passes array-likes on to the student's body -------------------

STARTER_CALLS = r"""
import numpy as np, beras
probs = np.array([[0.2, 0.8], [0.6, 0.4]])
calls = {
    "CategoricalAccuracy": lambda: beras.CategoricalAccuracy()(probs, [[0, 1], [1, 0]]),
    "MeanSquaredError": lambda: beras.MeanSquaredError()([[0.5]], [[1.0]]),
    "Dense": lambda: beras.Dense(2, 1)([[1.0, 2.0]]),
    "OneHotEncoder.fit": lambda: beras.OneHotEncoder().fit([3, 1]),
}
for name, call in calls.items():
    try:
        call()
        print(name, "returned")
    except NotImplementedError:
        print(name, "reached the student's code")
    except Exception as exc:
        print(name, "refused:", type(exc).__name__, exc)
"""


def test_starter_given_code_passes_lists_to_the_student(tmp_path):
    """In the starter (solutions stubbed), a list reaches the student's body, not an AttributeError."""
    package = tmp_path / "beras"
    shutil.copytree(Path(beras.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("metrics.py", "losses.py", "layers/dense.py", "onehot.py"):
        (package / name).write_text(render_stub((package / name).read_text(), name).text)
    proc = subprocess.run(
        [sys.executable, "-c", STARTER_CALLS], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines == [
        "CategoricalAccuracy reached the student's code",
        "MeanSquaredError reached the student's code",
        "Dense reached the student's code",
        "OneHotEncoder.fit reached the student's code",
    ]
