"""Sanity checks for Conv2D that you can run yourself; the expected values are computed here with plain numpy.

Run them with pytest (``pytest public_tests``) or without it (the starter's mini runner).
Passing them is a start, not a guarantee: the graded tests cover many more shapes, strides,
both paddings and every gradient.
"""

import numpy as np

from grader.harness import assert_close, fetch


def _tensor(student, array):
    return student.beras.Tensor(np.asarray(array, dtype=np.float32))


def _single(grads, call):
    """The one array of a one-input layer's gradient list."""
    assert isinstance(grads, (list, tuple)) and len(grads) == 1, (
        f"{call} must return a list with one array, [dL/dx]")
    return grads[0]


def test_one_by_one_kernel_mixes_channels(student, rng):
    """A 1x1 convolution is a matrix product over the channel axis, pixel by pixel, plus the bias."""
    layer = student.beras.Conv2D(3, 1, input_channels=2)
    layer.bias.assign(rng.standard_normal(3))
    x = rng.standard_normal((2, 4, 5, 2)).astype(np.float32)
    out = layer(_tensor(student, x))
    kernel, bias = fetch(layer.kernel), fetch(layer.bias)
    expected = x @ kernel[0, 0] + bias
    assert_close(out, expected, rtol=1e-5, atol=1e-5, what="Conv2D(3, 1) forward (a 1x1 kernel)")


def _direct(x, kernel, bias, strides, pads):
    """The convolution by its definition: for each output pixel, the sum over its window (slow, plain)."""
    x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    fh, fw, _, filters = kernel.shape
    out_h = (x.shape[1] - fh) // strides[0] + 1
    out_w = (x.shape[2] - fw) // strides[1] + 1
    out = np.zeros((x.shape[0], out_h, out_w, filters))
    for p in range(out_h):
        for q in range(out_w):
            window = x[:, p * strides[0] : p * strides[0] + fh, q * strides[1] : q * strides[1] + fw]
            out[:, p, q] = np.einsum("nijc,ijcf->nf", window, kernel) + bias
    return out


def _random_weights(layer, rng):
    """Give the layer a random kernel and bias (a zero bias would hide a forgotten one); return them."""
    layer.kernel.assign(rng.standard_normal(fetch(layer.kernel).shape).astype(np.float32))
    layer.bias.assign(rng.standard_normal(fetch(layer.bias).shape).astype(np.float32))
    return fetch(layer.kernel), fetch(layer.bias)


def test_valid_output_shape(student, rng):
    """VALID: out = floor((n - f) / s) + 1 on each axis; the last axis is the number of filters; then the
    values."""
    layer = student.beras.Conv2D(4, (3, 2), strides=2, padding="valid", input_channels=3)
    kernel, bias = _random_weights(layer, rng)
    x = rng.standard_normal((2, 9, 7, 3)).astype(np.float32)
    out = fetch(layer(_tensor(student, x)))
    assert out.shape == (2, 4, 3, 4), (
        f"Conv2D(4, (3, 2), strides=2, padding='valid') on (2, 9, 7, 3) gave shape {out.shape}")
    assert_close(out, _direct(x, kernel, bias, (2, 2), ((0, 0), (0, 0))), rtol=1e-4, atol=1e-4,
                 what="Conv2D(4, (3, 2), strides=2, padding='valid') on (2, 9, 7, 3)")


def test_same_output_shape(student, rng):
    """SAME: out = ceil(n / s) on each axis, whatever the kernel size; then the values (padding 1 before, 2
    after)."""
    layer = student.beras.Conv2D(2, 4, strides=(1, 3), padding="same", input_channels=1)
    kernel, bias = _random_weights(layer, rng)
    x = rng.standard_normal((1, 6, 7, 1)).astype(np.float32)
    out = fetch(layer(_tensor(student, x)))
    assert out.shape == (1, 6, 3, 2), (
        f"Conv2D(2, 4, strides=(1, 3), padding='same') on (1, 6, 7, 1) gave shape {out.shape}")
    # height: out 6, total padding 3 = 1 + 2; width: out 3, total padding (3 - 1) * 3 + 4 - 7 = 3 = 1 + 2
    assert_close(out, _direct(x, kernel, bias, (1, 3), ((1, 2), (1, 2))), rtol=1e-4, atol=1e-4,
                 what="Conv2D(2, 4, strides=(1, 3), padding='same') on (1, 6, 7, 1)")


def test_whole_image_kernel_is_a_dot_product(student, rng):
    """With VALID and a kernel as large as the image there is one output pixel: sum(x * kernel[..., f]) +
    b[f]."""
    layer = student.beras.Conv2D(2, (3, 4), padding="valid", input_channels=2)
    layer.bias.assign(rng.standard_normal(2))
    x = rng.standard_normal((3, 3, 4, 2)).astype(np.float32)
    out = layer(_tensor(student, x))
    kernel, bias = fetch(layer.kernel), fetch(layer.bias)
    expected = np.einsum("nijc,ijcf->nf", x, kernel)[:, None, None, :] + bias
    assert_close(out, expected, rtol=1e-5, atol=1e-5,
                 what="Conv2D(2, (3, 4), padding='valid') on (3, 3, 4, 2)")


def test_one_by_one_kernel_gradients(student, rng):
    """For a 1x1 kernel: dL/dx = J @ k.T per pixel, dL/dk = sum over pixels of x^T J, dL/db = J summed."""
    layer = student.beras.Conv2D(3, 1, input_channels=2)
    x = rng.standard_normal((2, 3, 4, 2)).astype(np.float32)
    J = rng.standard_normal((2, 3, 4, 3)).astype(np.float32)
    layer(_tensor(student, x))
    kernel = fetch(layer.kernel)[0, 0]
    upstream = _tensor(student, J)
    dx = fetch(layer.compose_input_gradients(upstream))
    dkernel, dbias = fetch(layer.compose_weight_gradients(upstream))
    assert_close(_single(dx, "Conv2D.compose_input_gradients(J)"), J @ kernel.T, rtol=1e-5, atol=1e-5,
                 what="Conv2D(3, 1) compose_input_gradients(J)[0]")
    expected_kernel = np.einsum("nhwc,nhwf->cf", x, J)[None, None]
    assert_close(dkernel, expected_kernel, rtol=1e-5, atol=1e-4,
                 what="Conv2D(3, 1) compose_weight_gradients(J)[0]")
    assert_close(dbias, J.sum(axis=(0, 1, 2)), rtol=1e-5, atol=1e-4,
                 what="Conv2D(3, 1) compose_weight_gradients(J)[1]")
