"""A small CNN built from the student's layers learns the 8x8 digits.

Conv2D -> ReLU -> MaxPool2D -> Flatten -> Dense -> Softmax, cross-entropy, Adam; the
optimizer, loss, tape and training loop are the released solutions. Accuracy is computed
here from the fetched predictions on held-out digits.
"""

from __future__ import annotations

import numpy as np

from grader.harness import fetch, note

EPOCHS = 6
BATCH_SIZE = 32
LEARNING_RATE = 0.005
FILTERS = 16
REQUIRED_ACCURACY = 0.90


def test_cnn_learns_digits(student, reference, seed):
    x_train, y_train, x_test, y_test = reference.beras.data.load_digits(seed=seed, dtype=np.float64)
    lib = student.beras
    lib.set_seed(seed)
    model = lib.SequentialModel([
        lib.Conv2D(FILTERS, 3, padding="same", input_channels=1, initializer="kaiming"),
        lib.ReLU(),
        lib.MaxPool2D(2),
        lib.Flatten(),
        lib.Dense(FILTERS * 4 * 4, 10, initializer="xavier"),
        lib.Softmax(),
    ])
    model.compile(lib.Adam(LEARNING_RATE), lib.CategoricalCrossEntropy(), lib.CategoricalAccuracy())
    x_train, y_train = lib.Tensor(x_train), lib.Tensor(y_train)  # sent to the student once
    for _ in range(EPOCHS):  # one call per epoch, so that a slow Conv2D meets each call's time limit
        model.fit(x_train, y_train, epochs=1, batch_size=BATCH_SIZE, verbose=False)
    predictions = np.asarray(fetch(model.predict(lib.Tensor(x_test))), dtype=np.float64)
    assert predictions.shape == y_test.shape, (
        f"model.predict on the {len(x_test)} held-out digits returned shape {predictions.shape}; "
        f"expected {y_test.shape} (one row of 10 class probabilities per image)"
    )
    assert np.isfinite(predictions).all(), (
        "model.predict returned NaN or inf after training: check the gradients of Conv2D and MaxPool2D "
        "(a wrong gradient can make Adam diverge)"
    )
    accuracy = float(np.mean(predictions.argmax(axis=1) == y_test.argmax(axis=1)))
    described = (f"Conv2D({FILTERS}, 3, padding='same') -> ReLU -> MaxPool2D(2) -> Flatten -> Dense -> Softmax, "
                 f"Adam({LEARNING_RATE}), {EPOCHS} epochs of batch {BATCH_SIZE}")
    assert accuracy >= REQUIRED_ACCURACY, (
        f"your CNN ({described}) reached {accuracy:.3f} accuracy on {len(x_test)} held-out digits; at least "
        f"{REQUIRED_ACCURACY:.2f} is required (the reference reaches about 0.97). If the layer tests pass, look at "
        "what the layers do across a batch: a gradient that is not summed over the batch and the output pixels, "
        "or a forward that mixes examples"
    )
    note(f"your CNN reached {accuracy:.3f} held-out accuracy on the 8x8 digits ({described}); "
         f"at least {REQUIRED_ACCURACY:.2f} was required")
