"""End to end: an MLP built and trained with your library must classify held-out 8x8 digits."""

from __future__ import annotations

import time

import numpy as np

from grader.harness import fetch, note

MIN_ACCURACY = 0.90


def test_digits_mlp(student, reference, seed):
    x_train, y_train, x_test, y_test = reference.beras.data.load_digits(seed=seed % 1000, dtype=np.float64)
    x_train, x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    lib = student.beras
    lib.set_seed(seed)
    model = lib.SequentialModel(
        [
            lib.Dense(64, 64, initializer="kaiming"),
            lib.ReLU(),
            lib.Dense(64, 10, initializer="xavier"),
            lib.Softmax(),
        ]
    )
    model.compile(lib.Adam(0.005), lib.CategoricalCrossEntropy(), lib.CategoricalAccuracy())
    started = time.perf_counter()
    history = fetch(model.fit(x_train, y_train, epochs=8, batch_size=32, verbose=False))
    seconds = time.perf_counter() - started
    probs = np.asarray(fetch(model.predict(x_test)))
    assert probs.shape == y_test.shape, (
        f"model.predict on {len(x_test)} test digits returned shape {probs.shape}; expected {y_test.shape}"
    )
    assert np.isfinite(probs).all(), "model.predict on the test digits returned NaN/inf values"
    accuracy = float(np.mean(np.argmax(probs, axis=1) == np.argmax(y_test, axis=1)))
    losses = ", ".join(f"{v:.3f}" for v in np.asarray(history["loss"], dtype=float).reshape(-1))
    note(
        f"digits MLP (64→64 ReLU→10 softmax, Adam 0.005, 8 epochs of batch 32): held-out accuracy "
        f"{accuracy:.3f} (needed {MIN_ACCURACY:.2f}); training took {seconds:.1f} s; loss per epoch: {losses}"
    )
    assert accuracy >= MIN_ACCURACY, (
        f"held-out accuracy of the digits MLP trained with your library is {accuracy:.3f}; at least "
        f"{MIN_ACCURACY:.2f} is expected (the per-epoch training loss was: {losses})"
    )
