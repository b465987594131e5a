"""Conv2D rejects bad arguments and bad inputs with a ValueError naming the layer."""

from __future__ import annotations

import numpy as np
import pytest

import beras


def assert_conv_error(err):
    message = str(err.value)
    assert "Conv2D" in message and "Received" in message, message


def test_rank_3_input_is_rejected():
    layer = beras.Conv2D(2, 3, input_channels=1)
    with pytest.raises(ValueError) as err:
        layer(beras.Tensor(np.ones((5, 5, 1), np.float32)))
    assert_conv_error(err)
    assert "(5, 5, 1)" in str(err.value)


def test_channel_mismatch_is_rejected():
    layer = beras.Conv2D(2, 3, input_channels=3)
    with pytest.raises(ValueError) as err:
        layer(beras.Tensor(np.ones((1, 5, 5, 1), np.float32)))
    assert_conv_error(err)
    assert layer.kernel.shape == (3, 3, 3, 2)  # the layer was not rebuilt


@pytest.mark.parametrize("kernel_size,dilation,shape", [
    (6, 1, (1, 5, 8, 1)),       # taller than the input
    ((2, 7), 1, (1, 8, 6, 1)),  # wider than the input
    (3, 3, (1, 6, 9, 1)),       # only the dilated kernel (7) is too large
])
def test_kernel_larger_than_valid_input_is_rejected(kernel_size, dilation, shape):
    layer = beras.Conv2D(2, kernel_size, dilation_rate=dilation, padding="valid")
    with pytest.raises(ValueError) as err:
        layer(beras.Tensor(np.ones(shape, np.float32)))
    assert_conv_error(err)


def test_same_padding_accepts_input_smaller_than_kernel():
    layer = beras.Conv2D(2, 5, padding="same", input_channels=1)
    assert layer(beras.Tensor(np.ones((1, 3, 2, 1), np.float32))).shape == (1, 3, 2, 2)


@pytest.mark.parametrize("padding", ["full", "causal", " same", "", None])
def test_unknown_padding_is_rejected(padding):
    with pytest.raises(ValueError) as err:
        beras.Conv2D(2, 3, padding=padding)
    assert_conv_error(err)


@pytest.mark.parametrize("strides", [0, -1, (1, 0), (0, 2)])
def test_non_positive_stride_is_rejected(strides):
    with pytest.raises(ValueError) as err:
        beras.Conv2D(2, 3, strides=strides)
    assert_conv_error(err)


@pytest.mark.parametrize("kernel_size", [0, -2, (3, 0), (0, 1)])
def test_non_positive_kernel_size_is_rejected(kernel_size):
    with pytest.raises(ValueError) as err:
        beras.Conv2D(2, kernel_size)
    assert_conv_error(err)


@pytest.mark.parametrize("dilation", [0, (1, -1)])
def test_non_positive_dilation_is_rejected(dilation):
    with pytest.raises(ValueError) as err:
        beras.Conv2D(2, 3, dilation_rate=dilation)
    assert_conv_error(err)
