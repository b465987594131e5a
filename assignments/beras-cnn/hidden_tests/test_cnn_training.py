"""A small CNN built from the student's layers learns the 8x8 digits.

Conv2D -> ReLU -> MaxPool2D -> Flatten -> Dense -> Softmax, cross-entropy, Adam; the
optimizer, loss, tape and training loop are the released solutions. The digits come in a
disguise drawn for this test (``disguised_digits``), so they cannot be looked up, and the
held-out accuracy is computed here, with the reference's layers, from the weights the student's
layers were trained to (``judge_predictions``): a patched ``predict`` or ``fit`` counts for nothing.
"""

from __future__ import annotations

import numpy as np

from grader.harness import note

EPOCHS = 6
BATCH_SIZE = 32
LEARNING_RATE = 0.005
FILTERS = 16
REQUIRED_ACCURACY = 0.90


def test_cnn_learns_digits(student, reference, seed, disguised_digits, judge_predictions):
    x_train, y_train, x_test, y_test = disguised_digits
    lib, ref = student.beras, reference.beras
    lib.set_seed(seed)
    conv = lib.Conv2D(FILTERS, 3, padding="same", input_channels=1, initializer="kaiming")
    dense = lib.Dense(FILTERS * 4 * 4, 10, initializer="xavier")
    model = lib.SequentialModel([conv, lib.ReLU(), lib.MaxPool2D(2), lib.Flatten(), dense, lib.Softmax()])
    model.compile(lib.Adam(LEARNING_RATE), lib.CategoricalCrossEntropy(), lib.CategoricalAccuracy())
    x_train, y_train = lib.Tensor(x_train), lib.Tensor(y_train)  # sent to the student once
    for _ in range(EPOCHS):  # one call per epoch, so that a slow Conv2D meets each call's time limit
        model.fit(x_train, y_train, epochs=1, batch_size=BATCH_SIZE, verbose=False)
    r_conv = ref.Conv2D(FILTERS, 3, padding="same", input_channels=1)
    r_dense = ref.Dense(FILTERS * 4 * 4, 10)
    predictions = judge_predictions(
        [r_conv, ref.ReLU(), ref.MaxPool2D(2), ref.Flatten(), r_dense, ref.Softmax()],
        [(r_conv.kernel, conv.kernel, "Conv2D's kernel"), (r_conv.bias, conv.bias, "Conv2D's bias"),
         (r_dense.w, dense.w, "the Dense layer's w"), (r_dense.b, dense.b, "the Dense layer's b")],
        x_test,
    )
    assert np.isfinite(predictions).all(), (
        "the weights your layers were trained to give NaN or inf outputs: check the gradients of Conv2D and "
        "MaxPool2D (a wrong gradient can make Adam diverge)"
    )
    accuracy = float(np.mean(predictions.argmax(axis=1) == y_test.argmax(axis=1)))
    described = (f"Conv2D({FILTERS}, 3, padding='same') -> ReLU -> MaxPool2D(2) -> Flatten -> Dense -> "
                 f"Softmax, Adam({LEARNING_RATE}), {EPOCHS} epochs of batch {BATCH_SIZE}")
    assert accuracy >= REQUIRED_ACCURACY, (
        f"your CNN ({described}) reached {accuracy:.3f} accuracy on {len(x_test)} held-out digits (computed "
        f"from the weights your layers were trained to); at least {REQUIRED_ACCURACY:.2f} is required (the "
        "reference reaches about 0.97). If the layer tests pass, look at what the layers do across a batch: "
        "a gradient that is not summed over the batch and the output pixels, or a forward that mixes "
        "examples"
    )
    note(f"your CNN reached {accuracy:.3f} held-out accuracy on the 8x8 digits ({described}), computed from "
         f"the weights it was trained to; at least {REQUIRED_ACCURACY:.2f} was required")
