"""Sanity checks for Dense and the activations; the expected values are computed here with plain numpy.

They run under pytest or under the harness's mini runner (no pytest needed).
"""

import numpy as np

from grader.harness import assert_close, fetch


def test_dense_computes_xw_plus_b(student, seed, rng):
    student.beras.set_seed(seed)
    layer = student.beras.Dense(5, 3)
    layer.b.assign(rng.normal(size=3))  # a non-zero bias, so that forgetting it shows
    x = rng.normal(size=(4, 5))
    w, b = np.asarray(fetch(layer.w)), np.asarray(fetch(layer.b))
    assert_close(
        layer(x),
        x @ w + b,
        rtol=1e-5,
        atol=1e-6,
        what="Dense(5, 3)(x) for x of shape (4, 5), compared with x @ layer.w + layer.b",
    )


def _called_dense(student, seed, rng):
    student.beras.set_seed(seed)
    layer = student.beras.Dense(4, 2)
    x = rng.normal(size=(3, 4))
    upstream = rng.normal(size=(3, 2))
    layer(x)
    return layer, x, upstream


def _without_leading_ones(arrays, ranks):
    """Each array without extra leading axes of length 1 (a (1, n) bias gradient holds the same values)."""
    arrays = fetch(arrays)
    if not isinstance(arrays, (list, tuple)):
        return arrays
    out = []
    for array, rank in zip(arrays, ranks):
        array = np.asarray(array)
        while array.ndim > rank and array.shape[0] == 1:
            array = array[0]
        out.append(array)
    return out + list(arrays[len(ranks):])


def test_dense_chain_rule_input(student, seed, rng):
    layer, x, upstream = _called_dense(student, seed, rng)
    w = np.asarray(fetch(layer.w), dtype=np.float64)
    assert_close(
        _without_leading_ones(layer.compose_input_gradients(upstream), [2]),
        [upstream @ w.T],
        rtol=1e-5,
        atol=1e-6,
        what="Dense(4, 2).compose_input_gradients(J): the list [dL/dx], with dL/dx = J @ w.T",
    )


def test_dense_chain_rule_weights(student, seed, rng):
    """[dL/dw, dL/db]; dL/db may also come as a (1, 2) row."""
    layer, x, upstream = _called_dense(student, seed, rng)
    assert_close(
        _without_leading_ones(layer.compose_weight_gradients(upstream), [2, 1]),
        [x.T @ upstream, upstream.sum(axis=0)],
        rtol=1e-5,
        atol=1e-6,
        what="Dense(4, 2).compose_weight_gradients(J): the list [dL/dw, dL/db] = "
        "[x.T @ J, J summed over the batch]",
    )


def test_relu_and_sigmoid_values(student, rng):
    x = rng.normal(0.0, 3.0, size=(6, 4))
    assert_close(
        student.beras.ReLU()(x),
        np.where(x > 0, x, 0.0),
        rtol=1e-6,
        atol=1e-7,
        what="ReLU()(x) for x of shape (6, 4)",
    )
    assert_close(
        student.beras.Sigmoid()(x),
        1.0 / (1.0 + np.exp(-x)),
        rtol=1e-6,
        atol=1e-7,
        what="Sigmoid()(x) for x of shape (6, 4)",
    )


def test_softmax_rows_are_distributions(student, rng):
    x = rng.normal(0.0, 4.0, size=(5, 7))
    probs = np.asarray(fetch(student.beras.Softmax()(x)), dtype=np.float64)
    assert probs.shape == (5, 7), f"Softmax()(x) for x of shape (5, 7) returned shape {probs.shape}"
    assert np.all(probs > 0), "Softmax()(x): every probability must be positive"
    assert_close(probs.sum(axis=1), np.ones(5), rtol=1e-5, atol=1e-6, what="the row sums of Softmax()(x)")
    assert np.array_equal(np.argmax(probs, axis=1), np.argmax(x, axis=1)), (
        "Softmax()(x): the largest probability of each row must sit where the largest input was"
    )
