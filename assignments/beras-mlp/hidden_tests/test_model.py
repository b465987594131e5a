"""SequentialModel.forward, Model.batch_step and Model.fit against the reference, given identical weights."""

from __future__ import annotations

import numpy as np
import pytest

from grader.harness import assert_close, fetch

TOL = {"rtol": 1e-7, "atol": 1e-10}
WEIGHTS = ["w1 (first Dense)", "b1", "w2 (second Dense)", "b2"]


def _twin_models(
    student, reference, dense_pair, n_in, n_hidden, n_out, hidden="ReLU", optimizer=("Adam", {})
):
    """A student and a reference MLP with the same weights, compiled alike."""
    d1, r1 = dense_pair(n_in, n_hidden, 0.3)
    d2, r2 = dense_pair(n_hidden, n_out, 0.3)
    models = []
    for lib, first, second in ((student.beras, d1, d2), (reference.beras, r1, r2)):
        model = lib.SequentialModel([first, getattr(lib, hidden)(), second, lib.Softmax()])
        opt_name, opt_kwargs = optimizer
        model.compile(
            getattr(lib, opt_name)(**opt_kwargs), lib.CategoricalCrossEntropy(), lib.CategoricalAccuracy()
        )
        models.append(model)
    return models


def _data(rng, n, n_in, n_out):
    """A learnable problem: the label is the argmax of a fixed random projection."""
    x = rng.normal(size=(n, n_in))
    y = np.eye(n_out)[np.argmax(x @ rng.normal(size=(n_in, n_out)), axis=1)]
    return x, y


def _stats(value) -> dict:
    """A fetched {"loss", "acc"} dict with its numbers as 1-D arrays (so that they compare like arrays)."""
    fetched = fetch(value)
    assert isinstance(fetched, dict) and {"loss", "acc"} <= set(fetched), (
        f"expected a dict with the keys 'loss' and 'acc', received "
        f"{sorted(fetched) if isinstance(fetched, dict) else type(fetched).__name__}"
    )
    return {key: np.atleast_1d(np.asarray(fetched[key], dtype=np.float64)) for key in ("loss", "acc")}


def _history(value, epochs: int) -> dict:
    fetched = fetch(value)
    assert isinstance(fetched, dict) and {"loss", "acc"} <= set(fetched), (
        "Model.fit must return the history dict {'loss': [...], 'acc': [...]}"
    )
    for key in ("loss", "acc"):
        got = np.asarray(fetched[key], dtype=np.float64).reshape(-1)
        assert got.shape == (epochs,), (
            f"Model.fit(..., epochs={epochs}) history[{key!r}] has {got.size} entries; expected one per epoch"
        )
    return {key: np.asarray(fetched[key], dtype=np.float64).reshape(-1) for key in ("loss", "acc")}


@pytest.mark.parametrize("hidden", ["ReLU", "LeakyReLU", "Sigmoid"])
@pytest.mark.parametrize("batch", [1, 9])
def test_sequential_forward(student, reference, rng, dense_pair, hidden, batch):
    s_model, r_model = _twin_models(student, reference, dense_pair, 6, 8, 4, hidden)
    x = rng.normal(size=(batch, 6))
    assert_close(
        s_model(x),
        r_model(x),
        **TOL,
        what=f"SequentialModel([Dense(6,8), {hidden}, Dense(8,4), Softmax])(x) for x of shape {(batch, 6)}",
    )


def test_sequential_forward_layer_order(student, reference, rng, dense_pair):
    """Layers run in list order: Dense(12,5), then Sigmoid, then Dense(5,3) on its output."""
    d1, r1 = dense_pair(12, 5)
    d2, r2 = dense_pair(5, 3)
    x = rng.normal(size=(4, 12))
    outs = [
        lib.SequentialModel([first, lib.Sigmoid(), second])(x)
        for lib, first, second in ((student.beras, d1, d2), (reference.beras, r1, r2))
    ]
    assert_close(
        outs[0], outs[1], **TOL, what="SequentialModel([Dense(12,5), Sigmoid, Dense(5,3)])(x) for x (4, 12)"
    )


def test_batch_step_without_training(student, reference, rng, dense_pair, assert_each_close):
    """The loss and accuracy of the batch, and every weight as it was.

    One test, not two: a batch_step that does nothing at all leaves the weights alone too.
    """
    s_model, r_model = _twin_models(student, reference, dense_pair, 5, 7, 3)
    x, y = _data(rng, 12, 5, 3)
    stats = _stats(s_model.batch_step(x, y, training=False))
    expected = r_model.batch_step(x, y, training=False)
    for key in ("loss", "acc"):
        assert_close(
            stats[key],
            np.atleast_1d(expected[key]),
            **TOL,
            what=f"Model.batch_step(x, y, training=False)[{key!r}] on a batch of 12",
        )
    assert_each_close(
        s_model.weights,
        [np.array(w) for w in r_model.weights],
        WEIGHTS,
        "the model's weights after batch_step(..., training=False) (they must not change)",
        rtol=0,
        atol=0,
    )


@pytest.mark.parametrize(
    "optimizer", [("Adam", {"learning_rate": 0.01}), ("BasicOptimizer", {"learning_rate": 0.1})],
    ids=["adam", "basic"]
)
def test_batch_step_training(student, reference, rng, dense_pair, assert_each_close, optimizer):
    s_model, r_model = _twin_models(student, reference, dense_pair, 5, 7, 3, optimizer=optimizer)
    x, y = _data(rng, 12, 5, 3)
    for step in range(1, 4):
        stats = _stats(s_model.batch_step(x, y))
        expected = r_model.batch_step(x, y)
        for key in ("loss", "acc"):
            assert_close(
                stats[key],
                np.atleast_1d(expected[key]),
                **TOL,
                what=f"Model.batch_step(x, y)[{key!r}] at training step {step} (computed before the update)",
            )
        assert_each_close(
            s_model.trainable_variables,
            [np.array(w) for w in r_model.trainable_variables],
            WEIGHTS,
            f"the model's weights after training step {step} with {optimizer[0]}",
            **TOL,
        )


FIT_CASES = [(48, 16, 3), (30, 30, 2), (20, 1, 2)]


def _fit_twins(student, reference, rng, dense_pair, n, batch_size, epochs):
    s_model, r_model = _twin_models(
        student, reference, dense_pair, 4, 6, 3, optimizer=("Adam", {"learning_rate": 0.02})
    )
    x, y = _data(rng, n, 4, 3)
    history = s_model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=False)
    expected = r_model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=False)
    return s_model, r_model, history, expected


@pytest.mark.parametrize("n,batch_size,epochs", FIT_CASES)
def test_fit_history(student, reference, rng, dense_pair, n, batch_size, epochs):
    """The history fit returns: per epoch, the mean of its batches' loss and accuracy."""
    _, _, history, expected = _fit_twins(student, reference, rng, dense_pair, n, batch_size, epochs)
    history = _history(history, epochs)
    for key in ("loss", "acc"):
        assert_close(
            history[key],
            np.asarray(expected[key]),
            rtol=1e-6,
            atol=1e-9,
            what=f"Model.fit(x, y, epochs={epochs}, batch_size={batch_size}, shuffle=False)[{key!r}] on "
            f"{n} examples (the mean over each epoch's batches)",
        )


@pytest.mark.parametrize("n,batch_size,epochs", FIT_CASES)
def test_fit_weights(student, reference, rng, dense_pair, assert_each_close, n, batch_size, epochs):
    """The weights after fit, whatever the history says."""
    s_model, r_model, _, _ = _fit_twins(student, reference, rng, dense_pair, n, batch_size, epochs)
    assert_each_close(
        s_model.trainable_variables,
        [np.array(w) for w in r_model.trainable_variables],
        WEIGHTS,
        f"the model's weights after fit(epochs={epochs}, batch_size={batch_size}, shuffle=False)",
        rtol=1e-6,
        atol=1e-9,
    )


def test_fit_partial_last_batch(student, reference, rng, dense_pair, assert_each_close):
    """25 examples in batches of 8: the last batch has 1 example, and every example is used once per epoch.

    The epoch's mean may be taken over examples or over batches: either is accepted.
    """
    s_model, r_model = _twin_models(
        student, reference, dense_pair, 4, 6, 3, optimizer=("BasicOptimizer", {"learning_rate": 0.2})
    )
    x, y = _data(rng, 25, 4, 3)
    epochs, batch_size = 2, 8
    history = _history(
        s_model.fit(x, y, epochs=epochs, batch_size=batch_size, shuffle=False, verbose=True), epochs
    )
    per_example, per_batch = {"loss": [], "acc": []}, {"loss": [], "acc": []}
    for _ in range(epochs):  # the reference's fit, one batch_step at a time
        stats = [
            (r_model.batch_step(x[i : i + batch_size], y[i : i + batch_size]), len(x[i : i + batch_size]))
            for i in range(0, len(x), batch_size)
        ]
        for key in ("loss", "acc"):
            per_example[key].append(sum(step[key] * count for step, count in stats) / len(x))
            per_batch[key].append(np.mean([step[key] for step, _ in stats]))
    assert_each_close(
        s_model.trainable_variables,
        [np.array(w) for w in r_model.trainable_variables],
        WEIGHTS,
        "the model's weights after fit on 25 examples with batch_size=8, shuffle=False "
        "and verbose=True (batches of 8, 8, 8 and 1)",
        rtol=1e-6,
        atol=1e-9,
    )
    for key in ("loss", "acc"):
        if not (
            np.allclose(history[key], per_example[key], rtol=1e-6, atol=1e-9)
            or np.allclose(history[key], per_batch[key], rtol=1e-6, atol=1e-9)
        ):
            assert_close(
                history[key],
                np.asarray(per_example[key]),
                rtol=1e-6,
                atol=1e-9,
                what=f"Model.fit(x, y, epochs=2, batch_size=8, shuffle=False)[{key!r}] on 25 examples "
                "(batches of 8, 8, 8 and 1), which is neither the mean over the examples nor the "
                "mean over the batches of what batch_step returned (compared here with the mean "
                "over examples)",
            )


def test_fit_shuffled_learns(student, reference, rng, dense_pair, seed, judge_predictions):
    """With shuffling on, fit still visits every example and the loss goes down.

    The loss and accuracy that count are computed here, from the weights fetched after fit
    (``judge_predictions``); the history fit returns is checked for its form only.
    """
    d1, r1 = dense_pair(4, 16, 0.3)
    d2, r2 = dense_pair(16, 3, 0.3)
    lib, ref = student.beras, reference.beras
    model = lib.SequentialModel([d1, lib.ReLU(), d2, lib.Softmax()])
    model.compile(lib.Adam(0.02), lib.CategoricalCrossEntropy(), lib.CategoricalAccuracy())
    x, y = _data(rng, 96, 4, 3)
    layers = [r1, ref.ReLU(), r2, ref.Softmax()]
    loss = ref.CategoricalCrossEntropy()
    before = float(loss(ref.SequentialModel(layers).predict(x), y))
    lib.set_seed(seed)
    history = _history(model.fit(x, y, epochs=8, batch_size=16, shuffle=True, verbose=False), 8)
    assert np.all((history["acc"] >= 0) & (history["acc"] <= 1)), (
        "fit's history['acc'] must hold fractions in [0, 1]"
    )
    probs = judge_predictions(layers, [(r1.w, d1.w, "w1"), (r1.b, d1.b, "b1"), (r2.w, d2.w, "w2"),
                                       (r2.b, d2.b, "b2")], x)
    after = float(loss(probs, y))
    assert after < 0.8 * before, (
        f"Model.fit(epochs=8, shuffle=True) on a separable 3-class problem: the loss of the model's weights "
        f"went from {before:.4f} to {after:.4f}; expected it to fall by at least 20%"
    )
    accuracy = float(np.mean(probs.argmax(axis=1) == y.argmax(axis=1)))
    assert accuracy > 0.7, (
        f"after fit(epochs=8, shuffle=True) the model's weights classify {accuracy:.3f} of the training "
        "examples of a separable 3-class problem right; expected above 0.7"
    )
