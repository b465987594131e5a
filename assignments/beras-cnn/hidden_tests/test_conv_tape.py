"""The layers inside a GradientTape: gradients of a loss with respect to the input and every weight.

The tape and the other layers are the released solutions; what is tested is that Conv2D,
MaxPool2D and Flatten give the tape what it needs (compose_input_gradients and
compose_weight_gradients for each call).
"""

from __future__ import annotations

import numpy as np
import pytest

from grader.harness import assert_close, fetch

RTOL, ATOL = 1e-5, 1e-5  # float64 on both sides; float32 rounding in a student layer still passes


def _copy_weights(student_layer, reference_layer) -> None:
    for index, weight in enumerate(reference_layer.weights):
        student_layer.weights[index].assign(fetch(weight))


def _gradients(lib, layers, loss_fn, x, target):
    """Run ``layers`` on ``x`` in a tape; return the gradients of the loss for [x, *weights]."""
    with lib.GradientTape() as tape:
        out = x
        for layer in layers:
            out = layer(out)
        loss = loss_fn(out, target)
    sources = [x]
    for layer in layers:
        sources.extend(layer.weights)
    return tape.gradient(loss, sources)


SINGLE = {
    "k3-same": dict(filters=2, kernel_size=3, strides=1, padding="same", shape=(2, 5, 5, 2)),
    "k2x3-s2-same-oddpad": dict(filters=3, kernel_size=(2, 3), strides=2, padding="same", shape=(2, 6, 5, 1)),
    "k4-s3-valid": dict(filters=2, kernel_size=4, strides=3, padding="valid", shape=(1, 9, 8, 3)),
}


@pytest.mark.parametrize("spec", SINGLE.values(), ids=SINGLE.keys())
def test_tape_through_conv(twins, student, reference, conv_name, spec):
    spec = dict(spec)
    shape = spec.pop("shape")
    s, r = twins.conv(spec["filters"], spec["kernel_size"], shape[-1], strides=spec["strides"],
                      padding=spec["padding"])
    x = twins.normal(shape)
    out_shape = fetch(r(reference.beras.Tensor(x))).shape
    target = twins.normal(out_shape)
    xs, xr = twins.tensors(x)
    ts, tr = twins.tensors(target)
    got = _gradients(student.beras, [s], student.beras.MeanSquaredError(), xs, ts)
    want = _gradients(reference.beras, [r], reference.beras.MeanSquaredError(), xr, tr)
    name = conv_name(spec["filters"], spec["kernel_size"], spec["strides"], spec["padding"])
    assert_close(got, fetch(want), rtol=RTOL, atol=ATOL,
                 what=f"x of shape {shape}: tape.gradient(MSE({name}(x), target), [x, kernel, bias])")


def test_tape_through_two_convs(twins, student, reference):
    """conv 3x3 stride 2 SAME -> ReLU -> conv 2x2 VALID -> MSE: dL/dx of the second conv feeds the first."""
    s1, r1 = twins.conv(3, 3, 2, strides=2, padding="same")
    s2, r2 = twins.conv(2, 2, 3, padding="valid")
    x = twins.normal((2, 7, 6, 2))
    target = twins.normal((2, 3, 2, 2))
    xs, xr = twins.tensors(x)
    ts, tr = twins.tensors(target)
    got = _gradients(student.beras, [s1, student.beras.ReLU(), s2], student.beras.MeanSquaredError(), xs, ts)
    want = _gradients(reference.beras, [r1, reference.beras.ReLU(), r2], reference.beras.MeanSquaredError(),
                      xr, tr)
    assert_close(got, fetch(want), rtol=RTOL, atol=ATOL,
                 what="Conv2D(3, 3, strides=2, padding='same') -> ReLU -> Conv2D(2, 2, padding='valid') -> "
                      "MSE on x (2, 7, 6, 2): tape.gradient(loss, [x, kernel1, bias1, kernel2, bias2])")


@pytest.mark.parametrize("pool_padding", ["valid", "same"])
def test_tape_through_small_cnn(twins, student, reference, pool_padding):
    """conv -> ReLU -> MaxPool2D -> Flatten -> Dense -> Softmax -> cross-entropy, all weights and x."""
    s_conv, r_conv = twins.conv(3, 3, 2, padding="same")
    height, width = 5, 6
    pooled = (height // 2) * (width // 2) if pool_padding == "valid" else -(-height // 2) * -(-width // 2)
    r_dense = reference.beras.Dense(pooled * 3, 4, initializer="xavier")
    s_dense = student.beras.Dense(pooled * 3, 4, initializer="xavier")
    r_dense.w.assign(twins.normal((pooled * 3, 4)) * 0.3)
    r_dense.b.assign(twins.normal((4,)) * 0.1)
    _copy_weights(s_dense, r_dense)
    x = twins.normal((3, height, width, 2))
    target = np.eye(4)[twins.rng.integers(0, 4, size=3)]  # one-hot labels
    xs, xr = twins.tensors(x)
    ts, tr = twins.tensors(target)
    s_layers = [s_conv, student.beras.ReLU(), student.beras.MaxPool2D(2, padding=pool_padding),
                student.beras.Flatten(), s_dense, student.beras.Softmax()]
    r_layers = [r_conv, reference.beras.ReLU(), reference.beras.MaxPool2D(2, padding=pool_padding),
                reference.beras.Flatten(), r_dense, reference.beras.Softmax()]
    got = _gradients(student.beras, s_layers, student.beras.CategoricalCrossEntropy(), xs, ts)
    want = _gradients(reference.beras, r_layers, reference.beras.CategoricalCrossEntropy(), xr, tr)
    assert_close(got, fetch(want), rtol=RTOL, atol=ATOL,
                 what=f"Conv2D(3, 3, padding='same') -> ReLU -> MaxPool2D(2, padding={pool_padding!r}) -> "
                      "Flatten -> Dense -> Softmax -> cross-entropy on x (3, 5, 6, 2): tape.gradient(loss, "
                      "[x, conv.kernel, conv.bias, dense.w, dense.b])")
