"""Sanity checks for MaxPool2D and Flatten that you can run yourself (expected values computed with numpy)."""

import numpy as np

from grader.harness import assert_close, fetch


def _tensor(student, array):
    return student.beras.Tensor(np.asarray(array, dtype=np.float32))


def _single(grads, call):
    """The one array of a one-input layer's gradient list."""
    assert isinstance(grads, (list, tuple)) and len(grads) == 1, (
        f"{call} must return a list with one array, [dL/dx]")
    return grads[0]


def test_maxpool_of_a_known_image(student):
    """2x2 windows, stride 2: each output is the largest of its four inputs."""
    image = np.array([[1, 5, 2, 0],
                      [3, 4, 8, 1],
                      [0, 2, 6, 7],
                      [9, 1, 3, 2]], dtype=np.float32).reshape(1, 4, 4, 1)
    out = student.beras.MaxPool2D(2)(_tensor(student, image))
    expected = np.array([[5, 8], [9, 7]], dtype=np.float32).reshape(1, 2, 2, 1)
    assert_close(out, expected, rtol=0, atol=0, what="MaxPool2D(2) on a known 4x4 image")


def test_maxpool_gradient_goes_to_the_maximum(student, rng):
    """Each window's upstream gradient goes to the input that was its maximum; the others get 0."""
    x = rng.permutation(2 * 4 * 6 * 3).astype(np.float32).reshape(2, 4, 6, 3)  # distinct values: no ties
    J = rng.standard_normal((2, 2, 3, 3)).astype(np.float32)
    layer = student.beras.MaxPool2D(2)
    layer(_tensor(student, x))
    dx = fetch(layer.compose_input_gradients(_tensor(student, J)))
    windows = x.reshape(2, 2, 2, 3, 2, 3).transpose(0, 1, 3, 5, 2, 4).reshape(2, 2, 3, 3, 4)
    is_max = windows == windows.max(axis=-1, keepdims=True)
    routed = (is_max * J[..., None]).reshape(2, 2, 3, 3, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(x.shape)
    assert_close(_single(dx, "MaxPool2D.compose_input_gradients(J)"), routed, rtol=0, atol=0,
                 what="MaxPool2D(2) compose_input_gradients(J)[0]")


def test_flatten_keeps_the_batch_axis(student, rng):
    """Flatten: (batch, h, w, c) -> (batch, h * w * c) in row-major order; the gradient is J reshaped back."""
    x = rng.standard_normal((3, 2, 4, 5)).astype(np.float32)
    layer = student.beras.Flatten()
    out = layer(_tensor(student, x))
    assert_close(out, x.reshape(3, 40), rtol=0, atol=0, what="Flatten() on (3, 2, 4, 5)")
    J = rng.standard_normal((3, 40)).astype(np.float32)
    dx = fetch(layer.compose_input_gradients(_tensor(student, J)))
    assert_close(_single(dx, "Flatten.compose_input_gradients(J)"), J.reshape(x.shape), rtol=0, atol=0,
                 what="Flatten() compose_input_gradients(J)[0]")
