"""GradientTape: gradients of small networks with respect to weights and inputs, against the reference,
weight sharing, paths that meet, unconnected sources, and a finite-difference check of your own tape."""

from __future__ import annotations

import numpy as np
import pytest

from grader.harness import assert_close, fetch

TOL = {"rtol": 1e-7, "atol": 1e-11}

# (id, hidden activation, output activation or None, loss)
NETWORKS = [
    ("relu-softmax-cce", "ReLU", "Softmax", "CategoricalCrossEntropy"),
    ("sigmoid-mse", "Sigmoid", None, "MeanSquaredError"),
    ("relu-sigmoid-mse", "ReLU", "Sigmoid", "MeanSquaredError"),
    ("leaky-softmax-cce", "LeakyReLU", "Softmax", "CategoricalCrossEntropy"),
]
SIZES = [(1, 3, 4, 2), (6, 5, 7, 3), (16, 8, 16, 10)]  # (batch, inputs, hidden, outputs)


def _labels(rng, loss, batch, n_out):
    if loss == "CategoricalCrossEntropy":
        return np.eye(n_out)[rng.integers(n_out, size=batch)]
    if loss == "BinaryCrossEntropy":
        return rng.integers(0, 2, size=(batch, n_out)).astype(np.float64)
    return rng.normal(size=(batch, n_out))


def _run(lib, layers, loss, x, y):
    """Forward through ``layers`` and ``loss`` under a tape; return the gradients w.r.t. all weights."""
    with lib.GradientTape() as tape:
        out = x
        for layer in layers:
            out = layer(out)
        value = loss(out, y)
    sources = [w for layer in layers for w in layer.trainable_variables]
    return tape.gradient(value, sources)


def _network(student, reference, dense_pair, hidden, output, n_in, n_hidden, n_out):
    d1, r1 = dense_pair(n_in, n_hidden)
    d2, r2 = dense_pair(n_hidden, n_out)
    s_layers = [d1, getattr(student.beras, hidden)(), d2]
    r_layers = [r1, getattr(reference.beras, hidden)(), r2]
    if output:
        s_layers.append(getattr(student.beras, output)())
        r_layers.append(getattr(reference.beras, output)())
    return s_layers, r_layers


@pytest.mark.parametrize("size", SIZES, ids=lambda s: "x".join(map(str, s)))
@pytest.mark.parametrize("net_id,hidden,output,loss", NETWORKS, ids=[n[0] for n in NETWORKS])
def test_mlp_weight_gradients(
    student, reference, rng, dense_pair, assert_each_close, net_id, hidden, output, loss, size
):
    batch, n_in, n_hidden, n_out = size
    s_layers, r_layers = _network(student, reference, dense_pair, hidden, output, n_in, n_hidden, n_out)
    x = rng.normal(size=(batch, n_in))
    y = _labels(rng, loss, batch, n_out)
    s_grads = _run(student.beras, s_layers, getattr(student.beras, loss)(), x, y)
    r_grads = _run(reference.beras, r_layers, getattr(reference.beras, loss)(), x, y)
    network = f"Dense({n_in},{n_hidden}) → {hidden} → Dense({n_hidden},{n_out})" + (
        f" → {output}" if output else ""
    )
    assert_each_close(
        s_grads,
        r_grads,
        ["dL/dw1", "dL/db1", "dL/dw2", "dL/db2"],
        f"tape.gradient({loss}, [w1, b1, w2, b2]) for {network} on a batch of {batch}",
        **TOL,
    )


def test_gradient_with_respect_to_input(student, reference, rng, dense_pair, assert_each_close):
    """A source may be an input Tensor, not only a weight."""
    d1, r1 = dense_pair(4, 5)
    d2, r2 = dense_pair(5, 3)
    x = rng.normal(size=(6, 4))
    y = np.eye(3)[rng.integers(3, size=6)]
    grads = []
    for lib, first, second in ((student.beras, d1, d2), (reference.beras, r1, r2)):
        layers = [first, lib.Sigmoid(), second, lib.Softmax()]
        x_tensor = lib.Tensor(x)
        with lib.GradientTape() as tape:
            out = x_tensor
            for layer in layers:
                out = layer(out)
            value = lib.CategoricalCrossEntropy()(out, y)
        grads.append(tape.gradient(value, [x_tensor, first.w]))
    assert_each_close(
        grads[0],
        grads[1],
        ["dL/dx", "dL/dw1"],
        "tape.gradient(loss, [x, w1]) for Dense(4,5) → Sigmoid → Dense(5,3) → Softmax → CCE",
        **TOL,
    )


def test_layer_used_twice(student, reference, rng, dense_pair, assert_each_close):
    """Weight sharing: one Dense applied twice gets the sum of both calls' contributions."""
    s_dense, r_dense = dense_pair(4, 4)
    x = rng.normal(size=(5, 4))
    y = rng.normal(size=(5, 4))
    grads = []
    for lib, dense in ((student.beras, s_dense), (reference.beras, r_dense)):
        act = lib.Sigmoid()
        with lib.GradientTape() as tape:
            value = lib.MeanSquaredError()(dense(act(dense(x))), y)
        grads.append(tape.gradient(value, [dense.w, dense.b]))
    assert_each_close(
        grads[0],
        grads[1],
        ["dL/dw", "dL/db"],
        "tape.gradient(loss, [w, b]) for d(sigmoid(d(x))) with the same Dense d applied twice "
        "(each call's gradients use that call's own input and output)",
        **TOL,
    )


def test_paths_that_meet(student, reference, rng, dense_pair, assert_each_close):
    """A tensor that feeds two layers (a residual connection) gets the sum of both paths."""
    s_dense, r_dense = dense_pair(3, 3)
    s_head, r_head = dense_pair(3, 2)
    x = rng.normal(size=(4, 3))
    y = rng.normal(size=(4, 2))
    grads = []
    for lib, dense, head in ((student.beras, s_dense, s_head), (reference.beras, r_dense, r_head)):
        x_tensor = lib.Tensor(x)
        with lib.GradientTape() as tape:
            h = dense(x_tensor)
            mixed = lib.Add()(lib.Sigmoid()(h), h)
            value = lib.MeanSquaredError()(head(mixed), y)
        grads.append(tape.gradient(value, [dense.w, dense.b, head.w, head.b, x_tensor]))
    assert_each_close(
        grads[0],
        grads[1],
        ["dL/dw1", "dL/db1", "dL/dw2", "dL/db2", "dL/dx"],
        "tape.gradient(loss, [w1, b1, w2, b2, x]) for h = Dense(x); Dense(Add(sigmoid(h), h)) "
        "(h reaches the loss by two paths: add them)",
        **TOL,
    )


@pytest.mark.filterwarnings("ignore:GradientTape.gradient")
def test_unconnected_source_gets_zeros(student, reference, rng, dense_pair, assert_each_close):
    s_used, r_used = dense_pair(3, 2)
    s_unused, r_unused = dense_pair(5, 4)
    x = rng.normal(size=(4, 3))
    y = rng.normal(size=(4, 2))
    x_other = rng.normal(size=(2, 5))
    grads = []
    for lib, used, unused in ((student.beras, s_used, s_unused), (reference.beras, r_used, r_unused)):
        with lib.GradientTape() as tape:
            unused(x_other)  # recorded on the tape, but its output never reaches the loss
            value = lib.MeanSquaredError()(used(x), y)
        grads.append(tape.gradient(value, [unused.w, used.w, unused.b, used.b]))
    fetched = fetch(grads[0])
    assert isinstance(fetched, (list, tuple)) and len(fetched) == 4, (
        "tape.gradient(loss, [4 sources]) must return a list of 4 gradients"
    )
    for index, shape in ((0, (5, 4)), (2, (4,))):
        got = np.asarray(fetched[index])
        assert got.shape == shape and not np.any(got), (
            f"tape.gradient(loss, sources): source #{index} (shape {shape}) is a weight of a layer whose "
            "output never reaches the loss; its gradient must be zeros of the source's shape"
        )
    assert_each_close(
        fetched,
        grads[1],
        ["dL/d(unused w)", "dL/dw", "dL/d(unused b)", "dL/db"],
        "tape.gradient(loss, [unused w, w, unused b, b]) for MSE(Dense(3,2)(x), y)",
        **TOL,
    )


def test_non_scalar_target(student, reference, rng, dense_pair, assert_each_close):
    """The gradient of a non-scalar target is the gradient of its sum."""
    s_dense, r_dense = dense_pair(3, 4)
    x = rng.normal(size=(5, 3))
    grads = []
    for lib, dense in ((student.beras, s_dense), (reference.beras, r_dense)):
        with lib.GradientTape() as tape:
            out = lib.Sigmoid()(dense(x))
        grads.append(tape.gradient(out, [dense.w, dense.b]))
    assert_each_close(
        grads[0],
        grads[1],
        ["d(sum)/dw", "d(sum)/db"],
        "tape.gradient(sigmoid(Dense(3,4)(x)), [w, b]) for a (5, 4) target (the gradient of its sum)",
        **TOL,
    )


@pytest.mark.filterwarnings("ignore:GradientTape.gradient")
def test_tape_records_only_inside_with(student, reference, rng, dense_pair, assert_each_close):
    """Calls before the tape opened are not part of its graph: their layers' inputs count as constants."""
    s_first, r_first = dense_pair(3, 3)
    s_second, r_second = dense_pair(3, 2)
    x = rng.normal(size=(4, 3))
    y = rng.normal(size=(4, 2))
    grads = []
    for lib, first, second in ((student.beras, s_first, s_second), (reference.beras, r_first, r_second)):
        h = first(x)
        with lib.GradientTape() as tape:
            value = lib.MeanSquaredError()(second(h), y)
        grads.append(tape.gradient(value, [second.w, second.b, first.w]))
    assert_each_close(
        grads[0],
        grads[1],
        ["dL/dw2", "dL/db2", "dL/dw1"],
        "tape.gradient(loss, [w2, b2, w1]) where Dense 1 ran before the tape opened (w1's gradient is zeros)",
        **TOL,
    )


@pytest.mark.parametrize("network", ["sigmoid-sigmoid-mse", "sigmoid-softmax-cce"])
def test_finite_differences(student, reference, rng, assert_each_close, network):
    """Your tape's gradients must be the derivatives of your own forward pass (central differences).

    The loss of that forward pass is checked against the reference's first: a constant loss with
    zero gradients agrees with itself.
    """
    hidden, output, loss_name = {
        "sigmoid-sigmoid-mse": ("Sigmoid", "Sigmoid", "MeanSquaredError"),
        "sigmoid-softmax-cce": ("Sigmoid", "Softmax", "CategoricalCrossEntropy"),
    }[network]
    lib = student.beras
    d1, d2 = lib.Dense(3, 4), lib.Dense(4, 3)
    params = [rng.normal(0.0, 0.7, size=shape) for shape in ((3, 4), (4,), (4, 3), (3,))]
    variables = [d1.w, d1.b, d2.w, d2.b]
    for variable, value in zip(variables, params):
        variable.assign(value)
    layers = [d1, getattr(lib, hidden)(), d2, getattr(lib, output)()]
    loss = getattr(lib, loss_name)()
    x = rng.normal(size=(5, 3))
    y = (
        np.eye(3)[rng.integers(3, size=5)]
        if loss_name == "CategoricalCrossEntropy"
        else rng.uniform(size=(5, 3))
    )

    def forward():
        out = x
        for layer in layers:
            out = layer(out)
        return loss(out, y)

    with lib.GradientTape() as tape:
        value = forward()
    analytic = fetch(tape.gradient(value, variables))
    ref = reference.beras
    r1, r2 = ref.Dense(3, 4), ref.Dense(4, 3)
    for variable, param in zip([r1.w, r1.b, r2.w, r2.b], params):
        variable.assign(param)
    expected = getattr(ref, loss_name)()(ref.SequentialModel([r1, getattr(ref, hidden)(), r2,
                                                              getattr(ref, output)()])(x), y)
    assert_close(
        np.atleast_1d(np.asarray(fetch(value), dtype=np.float64)),
        np.atleast_1d(np.asarray(expected, dtype=np.float64)),
        **TOL,
        what=f"the {loss_name} of Dense(3,4) → {hidden} → Dense(4,3) → {output} (the value differentiated "
             "below)",
    )

    eps = 1e-6
    numeric = [np.zeros_like(p) for p in params]
    for variable, base, target in zip(variables, params, numeric):
        for index in np.ndindex(*base.shape):
            shifted = base.copy()
            shifted[index] = base[index] + eps
            variable.assign(shifted)
            up = float(np.asarray(fetch(forward())).reshape(-1)[0])
            shifted[index] = base[index] - eps
            variable.assign(shifted)
            down = float(np.asarray(fetch(forward())).reshape(-1)[0])
            target[index] = (up - down) / (2 * eps)
        variable.assign(base)
    assert_each_close(
        analytic,
        numeric,
        ["dL/dw1", "dL/db1", "dL/dw2", "dL/db2"],
        f"tape.gradient(loss, [w1, b1, w2, b2]) for Dense(3,4) → {hidden} → Dense(4,3) → {output} → "
        f"{loss_name}, compared with finite differences of your own forward pass",
        rtol=1e-4,
        atol=1e-8,
    )
