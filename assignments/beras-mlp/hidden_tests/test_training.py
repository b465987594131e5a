"""End to end: an MLP built and trained with your library must classify held-out 8x8 digits.

The digits come in a disguise drawn for this test (``disguised_digits``), so they cannot be
looked up, and the held-out predictions are computed by the grader from the weights your
``fit`` trained (``judge_predictions``): what counts is what your training did to the weights.
"""

from __future__ import annotations

import time

import numpy as np

from grader.harness import fetch, note

MIN_ACCURACY = 0.90


def _reported_losses(history) -> str:
    """The per-epoch losses ``fit`` reported, for the feedback (they count for nothing here)."""
    try:
        return ", ".join(f"{v:.3f}" for v in np.asarray(fetch(history)["loss"], dtype=float).reshape(-1))
    except Exception:  # a history of any other form: fit's own tests say what is wrong with it
        return "not reported"


def test_digits_mlp(student, reference, seed, disguised_digits, judge_predictions):
    x_train, y_train, x_test, y_test = disguised_digits
    lib, ref = student.beras, reference.beras
    lib.set_seed(seed)
    first, second = lib.Dense(64, 64, initializer="kaiming"), lib.Dense(64, 10, initializer="xavier")
    model = lib.SequentialModel([first, lib.ReLU(), second, lib.Softmax()])
    model.compile(lib.Adam(0.005), lib.CategoricalCrossEntropy(), lib.CategoricalAccuracy())
    started = time.perf_counter()
    history = model.fit(x_train, y_train, epochs=8, batch_size=32, verbose=False)
    seconds = time.perf_counter() - started
    r_first, r_second = ref.Dense(64, 64), ref.Dense(64, 10)
    probs = judge_predictions(
        [r_first, ref.ReLU(), r_second, ref.Softmax()],
        [(r_first.w, first.w, "the first Dense's w"), (r_first.b, first.b, "the first Dense's b"),
         (r_second.w, second.w, "the second Dense's w"), (r_second.b, second.b, "the second Dense's b")],
        x_test,
    )
    assert np.isfinite(probs).all(), (
        "the weights your fit trained give NaN/inf outputs on the test digits (did the training diverge?)"
    )
    accuracy = float(np.mean(np.argmax(probs, axis=1) == np.argmax(y_test, axis=1)))
    losses = _reported_losses(history)
    note(
        "digits MLP (64→64 ReLU→10 softmax, Adam 0.005, 8 epochs of batch 32): held-out accuracy of the "
        f"weights your fit trained {accuracy:.3f} (needed {MIN_ACCURACY:.2f}); training took {seconds:.1f} "
        f"s; the loss per epoch your fit reported: {losses}"
    )
    assert accuracy >= MIN_ACCURACY, (
        f"held-out accuracy of the digits MLP trained with your library is {accuracy:.3f}, computed from the "
        f"weights after your fit; at least {MIN_ACCURACY:.2f} is expected (your fit reported the per-epoch "
        f"training loss: {losses})"
    )
