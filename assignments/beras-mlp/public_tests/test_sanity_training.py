"""Sanity checks for losses, the gradient tape, an optimizer, metrics, one-hot encoding and a model.

The expected values are computed here with plain numpy.
"""

import numpy as np

from grader.harness import assert_close, fetch


def _number(value):
    return np.atleast_1d(np.asarray(fetch(value), dtype=np.float64))


def test_mse_is_zero_for_equal_inputs_and_matches_numpy(student, rng):
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    loss = student.beras.MeanSquaredError()
    assert_close(_number(loss(a, a)), np.zeros(1), rtol=0, atol=1e-12, what="MeanSquaredError()(a, a)")
    assert_close(
        _number(loss(a, b)),
        np.atleast_1d(np.mean((a - b) ** 2)),
        rtol=1e-6,
        atol=1e-9,
        what="MeanSquaredError()(a, b) for arrays of shape (4, 3)",
    )


def test_cross_entropy_of_one_hot_labels(student, rng):
    probs = rng.dirichlet(np.ones(4), size=5)
    labels = np.eye(4)[rng.integers(4, size=5)]
    expected = -np.mean(np.log(np.sum(probs * labels, axis=1)))
    assert_close(
        _number(student.beras.CategoricalCrossEntropy()(probs, labels)),
        np.atleast_1d(expected),
        rtol=1e-6,
        atol=1e-9,
        what="CategoricalCrossEntropy()(probs, labels) for shape (5, 4)",
    )


def test_tape_gradient_of_one_dense_layer(student, seed, rng):
    lib = student.beras
    lib.set_seed(seed)
    layer = lib.Dense(3, 2)
    x, y = rng.normal(size=(4, 3)), rng.normal(size=(4, 2))
    with lib.GradientTape() as tape:
        loss = lib.MeanSquaredError()(layer(x), y)
    grads = tape.gradient(loss, [layer.w, layer.b])
    w, b = (np.asarray(fetch(v), dtype=np.float64) for v in (layer.w, layer.b))
    upstream = 2 * (x @ w + b - y) / y.size  # dL/d(output) of the mean squared error
    assert_close(
        grads,
        [x.T @ upstream, upstream.sum(axis=0)],
        rtol=1e-5,
        atol=1e-7,
        what="tape.gradient(MSE(Dense(3, 2)(x), y), [w, b])",
    )


def test_basic_optimizer_takes_one_step(student, rng):
    start, grad = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    param = student.beras.Variable(start)
    student.beras.BasicOptimizer(0.1).apply_gradients([param], [grad])
    assert_close(
        param,
        start - 0.1 * grad,
        rtol=1e-6,
        atol=1e-7,
        what="a (3, 2) parameter after BasicOptimizer(0.1).apply_gradients([param], [grad])",
    )


def test_accuracy_and_one_hot(student):
    encoder = student.beras.OneHotEncoder()
    onehot = encoder(np.array([2, 0, 1, 2]))
    assert_close(onehot, np.eye(3)[[2, 0, 1, 2]], rtol=0, atol=0, what="OneHotEncoder()([2, 0, 1, 2])")
    probs = np.array([[0.1, 0.2, 0.7], [0.8, 0.1, 0.1], [0.5, 0.3, 0.2], [0.3, 0.3, 0.4]])
    assert_close(
        _number(student.beras.CategoricalAccuracy()(probs, np.eye(3)[[2, 0, 1, 2]])),
        np.array([0.75]),
        rtol=0,
        atol=1e-12,
        what="CategoricalAccuracy()(probs, labels) with 3 of 4 rows right",
    )
    assert_close(
        encoder.inverse(probs),
        np.array([2, 0, 0, 2]),
        rtol=0,
        atol=0,
        what="OneHotEncoder.inverse(probs): the label of each row's largest entry",
    )


def test_model_step_lowers_the_loss(student, seed, rng):
    lib = student.beras
    lib.set_seed(seed)
    model = lib.SequentialModel([lib.Dense(4, 8), lib.ReLU(), lib.Dense(8, 3), lib.Softmax()])
    model.compile(lib.Adam(0.05), lib.CategoricalCrossEntropy(), lib.CategoricalAccuracy())
    x = rng.normal(size=(16, 4))
    y = np.eye(3)[rng.integers(3, size=16)]
    before = fetch(model.batch_step(x, y, training=False))
    assert isinstance(before, dict) and {"loss", "acc"} <= set(before), (
        "Model.batch_step must return a dict with the keys 'loss' and 'acc'"
    )
    for _ in range(10):
        model.batch_step(x, y)
    after = fetch(model.batch_step(x, y, training=False))
    loss_before, loss_after = _number(before["loss"])[0], _number(after["loss"])[0]
    assert loss_after < loss_before, (
        f"the loss on a batch did not fall after 10 training steps of Adam(0.05) on it: "
        f"{loss_before:.4f} before, {loss_after:.4f} after"
    )
