"""VALID/SAME geometry through the layers (output size and padding per axis), and the strided-window view."""

from __future__ import annotations

import itertools

import pytest

from grader.harness import assert_close, assert_equal, fetch

FORMULAS = {
    "valid": "VALID: out = floor((n - f) / s) + 1, no padding",
    "same": "SAME: out = ceil(n / s), total padding P = max((out - 1) * s + f - n, 0), floor(P / 2) before",
}


def _plain(value):
    """Nested tuples of Python ints, whatever sequence types and integer types were returned."""
    if isinstance(value, (list, tuple)):
        return tuple(_plain(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _combos(padding: str, sizes: range, kernels: range):
    """((height, width), kernel, strides) covering every (n, f, s) of sizes x kernels x strides 1-3 once.

    Each call checks two of these, one per axis: the first half of the list on the height
    axis, the second half (rotated) on the width axis. VALID needs n >= f.
    """
    axis = [(n, f, s) for n, f, s in itertools.product(sizes, kernels, range(1, 4))
            if padding == "same" or n >= f]
    half = (len(axis) + 1) // 2
    second = axis[half:] + axis[:1]
    second = second[7:] + second[:7]  # rotated, so that the two axes differ in kernel and stride too
    for (n, f, s), (m, g, t) in zip(axis[:half], second):
        yield (n, m), (f, g), (s, t)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_conv_output_geometry(student, reference, padding):
    for (height, width), kernel, strides in _combos(padding, range(1, 9), range(1, 6)):
        s = student.beras.Conv2D(1, kernel, strides=strides, padding=padding)
        r = reference.beras.Conv2D(1, kernel, strides=strides, padding=padding)
        assert_equal(_plain(fetch(s.output_geometry(height, width))),
                     _plain(fetch(r.output_geometry(height, width))),
                     what=f"Conv2D(1, kernel_size={kernel}, strides={strides}, padding={padding!r})"
                          f".output_geometry({height}, {width}) -> (out_h, out_w, (top, bottom), "
                          f"(left, right)) [{FORMULAS[padding]}]")


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pool_output_geometry(student, reference, padding):
    for (height, width), pool, strides in _combos(padding, range(1, 7), range(1, 5)):
        s = student.beras.MaxPool2D(pool, strides=strides, padding=padding)
        r = reference.beras.MaxPool2D(pool, strides=strides, padding=padding)
        assert_equal(_plain(fetch(s.output_geometry(height, width))),
                     _plain(fetch(r.output_geometry(height, width))),
                     what=f"MaxPool2D({pool}, strides={strides}, padding={padding!r})"
                          f".output_geometry({height}, {width}) -> (out_h, out_w, (top, bottom), "
                          f"(left, right)) [{FORMULAS[padding]}]")


WINDOWS = [  # (array shape, top, left, out_h, out_w, strides, axis)
    ((2, 7, 8, 3), 0, 0, 3, 4, (2, 2), 1),
    ((2, 7, 8, 3), 1, 2, 2, 3, (3, 2), 1),
    ((1, 5, 6, 2), 2, 0, 3, 6, (1, 1), 1),
    ((2, 6, 6, 1), 3, 4, 1, 1, (2, 3), 1),
    ((3, 2, 7, 8), 1, 1, 3, 4, (2, 2), 2),
]


def test_strided_window(student, reference, rng):
    for shape, top, left, out_h, out_w, strides, axis in WINDOWS:
        padded = rng.standard_normal(shape)
        got = student.beras.layers.geometry.strided_window(
            student.beras.to_device(padded), top, left, out_h, out_w, strides, axis)
        want = reference.beras.layers.geometry.strided_window(
            reference.beras.to_device(padded), top, left, out_h, out_w, strides, axis)
        assert_close(got, fetch(want), rtol=0, atol=0,
                     what=f"strided_window(padded of shape {shape}, top={top}, left={left}, out_h={out_h}, "
                          f"out_w={out_w}, strides={strides}, axis={axis}) (output pixel (p, q) is the "
                          "padded pixel at row top + p*s_h, column left + q*s_w)")
