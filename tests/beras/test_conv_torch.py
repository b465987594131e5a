"""Conv2D forward and gradients against torch.nn.functional.conv2d and a naive numpy loop."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import beras

RTOL, ATOL = 1e-9, 1e-10
FILTERS = 2
torch.set_num_threads(1)  # tiny tensors: avoid thread oversubscription on small CPUs


# --- independent oracles -------------------------------------------------------------


def tf_pads(n: int, f: int, s: int, d: int, padding: str) -> tuple[int, int]:
    """TF padding for one axis: (before, after), written from the tf.nn.conv2d formula."""
    if padding.lower() == "valid":
        return 0, 0
    f_eff = d * (f - 1) + 1
    out = (n + s - 1) // s
    total = max((out - 1) * s + f_eff - n, 0)
    return total // 2, total - total // 2


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def torch_conv(x, k, b, strides, dilation, padding, kernel_size):
    """Torch NHWC forward; returns (y, leaves) with leaves requiring grad."""
    (sh, sw), (dh, dw), (fh, fw) = pair(strides), pair(dilation), pair(kernel_size)
    xt = torch.tensor(np.asarray(x), requires_grad=True)
    kt = torch.tensor(np.asarray(k), requires_grad=True)
    bt = None if b is None else torch.tensor(np.asarray(b), requires_grad=True)
    top, bottom = tf_pads(x.shape[1], fh, sh, dh, padding)
    left, right = tf_pads(x.shape[2], fw, sw, dw, padding)
    xn = F.pad(xt.permute(0, 3, 1, 2), (left, right, top, bottom))
    y = F.conv2d(xn, kt.permute(3, 2, 0, 1), bt, stride=(sh, sw), dilation=(dh, dw), padding=0)
    return y.permute(0, 2, 3, 1), (xt, kt, bt)


def torch_grads(y, leaves, loss):
    loss.backward()
    return [leaf.grad.numpy() for leaf in leaves if leaf is not None]


def naive_conv(x, k, b, strides, dilation, padding):
    """The defining 4-loop sum over a zero-padded input (like Keras' np_conv2d)."""
    (sh, sw), (dh, dw) = pair(strides), pair(dilation)
    fh, fw, _, nf = k.shape
    ph = tf_pads(x.shape[1], fh, sh, dh, padding)
    pw = tf_pads(x.shape[2], fw, sw, dw, padding)
    xp_ = np.pad(x, ((0, 0), ph, pw, (0, 0)))
    oh = (xp_.shape[1] - (dh * (fh - 1) + 1)) // sh + 1
    ow = (xp_.shape[2] - (dw * (fw - 1) + 1)) // sw + 1
    y = np.zeros((x.shape[0], oh, ow, nf))
    for n, p, q, f in itertools.product(range(x.shape[0]), range(oh), range(ow), range(nf)):
        acc = 0.0 if b is None else b[f]
        for i, j in itertools.product(range(fh), range(fw)):
            acc += xp_[n, p * sh + i * dh, q * sw + j * dw, :] @ k[i, j, :, f]
        y[n, p, q, f] = acc
    return y


def make_layer(rng, in_ch, kernel_size, use_bias=True, **kw):
    """A built Conv2D with random kernel and bias assigned; returns (layer, k, b)."""
    layer = beras.Conv2D(FILTERS, kernel_size, input_channels=in_ch, use_bias=use_bias, **kw)
    fh, fw = pair(kernel_size)
    k = rng.standard_normal((fh, fw, in_ch, FILTERS))
    layer.kernel.assign(k)
    b = None
    if use_bias:
        b = rng.standard_normal(FILTERS)
        layer.bias.assign(b)
    return layer, k, b


def close(actual, expected, rtol=RTOL, atol=ATOL):
    actual = beras.to_numpy(actual)
    assert actual.shape == expected.shape
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


# --- the grid ------------------------------------------------------------------------


@pytest.mark.parametrize("image", [(7, 9), (10, 6)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("in_ch", [1, 3])
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("ksize", [1, 2, 3, 4, 5])
def test_grid_matches_torch(float64, rng, ksize, stride, dilation, padding, in_ch, batch, image):
    h, w = image
    layer, k, b = make_layer(rng, in_ch, ksize, strides=stride, padding=padding,
                             dilation_rate=dilation)
    x = beras.Tensor(rng.standard_normal((batch, h, w, in_ch)))
    f_eff = dilation * (ksize - 1) + 1
    if padding == "valid" and f_eff > min(h, w):
        with pytest.raises(ValueError) as err:
            layer(x)
        assert "Conv2D" in str(err.value) and "Received" in str(err.value)
        return

    pads = tf_pads(h, ksize, stride, dilation, padding), tf_pads(w, ksize, stride, dilation, padding)
    geometry = layer.output_geometry(h, w)
    assert (geometry[2], geometry[3]) == pads

    out = layer(x)
    y, leaves = torch_conv(x, k, b, stride, dilation, padding, ksize)
    close(out, y.detach().numpy())
    if padding == "same":
        assert out.shape[1:3] == (-(-h // stride), -(-w // stride))

    R = rng.standard_normal(out.shape)
    want = torch_grads(y, leaves, (y * torch.tensor(R)).sum())
    # weight gradients first (no cached backward), then the usual input-then-weight order
    fresh = layer.compose_weight_gradients(R.copy())
    (dx,) = layer.compose_input_gradients(R)
    dk, db = layer.compose_weight_gradients(R)
    for got, expected in zip([dx, dk, db], want):
        close(got, expected)
    for got, expected in zip(fresh, want[1:]):
        close(got, expected)


# Conv2D switches its column layout on the channel count (beras.layers.conv.CHANNEL_MAJOR_BELOW)
# and takes dL/dx by correlation for stride 1: cover every combination of the paths.
LAYOUTS = [(20, 2), (20, 18), (2, 18)]  # (in_channels, filters)


@pytest.mark.parametrize("in_ch,filters", LAYOUTS, ids=lambda v: str(v))
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("dilation", [1, 2])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("ksize", [1, 2, 3, 4])
def test_channel_layouts_match_torch(float64, rng, ksize, stride, dilation, padding, in_ch, filters):
    layer = beras.Conv2D(filters, ksize, strides=stride, padding=padding, dilation_rate=dilation,
                         input_channels=in_ch)
    k, b = rng.standard_normal(layer.kernel.shape), rng.standard_normal(filters)
    layer.kernel.assign(k)
    layer.bias.assign(b)
    x = beras.Tensor(rng.standard_normal((2, 7, 9, in_ch)))
    out = layer(x)
    y, leaves = torch_conv(x, k, b, stride, dilation, padding, ksize)
    close(out, y.detach().numpy())
    R = rng.standard_normal(out.shape)
    want = torch_grads(y, leaves, (y * torch.tensor(R)).sum())
    (dx,) = layer.compose_input_gradients(R)
    dk, db = layer.compose_weight_gradients(R)
    for got, expected in zip([dx, dk, db], want):
        close(got, expected)


TAPE_CASES = [  # (image, batch, in_ch, ksize, stride, dilation, padding)
    ((7, 9), 2, 3, 2, 1, 1, "same"),   # odd total padding on both axes
    ((10, 6), 2, 3, 3, 2, 2, "same"),
    ((7, 9), 1, 1, 4, 3, 1, "same"),
    ((10, 6), 2, 3, 5, 1, 1, "valid"),
    ((7, 9), 2, 1, 3, 2, 2, "valid"),
    ((10, 6), 1, 3, 1, 3, 1, "valid"),
]


@pytest.mark.parametrize("image,batch,in_ch,ksize,stride,dilation,padding", TAPE_CASES)
def test_tape_gradients_match_torch(float64, rng, image, batch, in_ch, ksize, stride,
                                    dilation, padding):
    layer, k, b = make_layer(rng, in_ch, ksize, strides=stride, padding=padding,
                             dilation_rate=dilation)
    x = beras.Tensor(rng.standard_normal((batch, *image, in_ch)))
    y, leaves = torch_conv(x, k, b, stride, dilation, padding, ksize)
    target = rng.standard_normal(tuple(y.shape))
    with beras.GradientTape() as tape:
        out = layer(x)
        loss = beras.MeanSquaredError()(out, beras.Tensor(target))
    grads = tape.gradient(loss, [x, layer.kernel, layer.bias])
    t_loss = ((y - torch.tensor(target)) ** 2).mean()
    close(loss, t_loss.detach().numpy())
    for got, expected in zip(grads, torch_grads(y, leaves, t_loss)):
        close(got, expected)


# --- second oracle: the naive loop --------------------------------------------------

NAIVE_CASES = [  # (shape, ksize, strides, dilation, padding)
    ((1, 4, 4, 1), 2, 1, 1, "same"),        # total padding 1: the extra row goes at the bottom
    ((2, 7, 6, 3), 3, (2, 1), (1, 2), "same"),
    ((1, 5, 8, 2), (2, 3), 2, 1, "valid"),
    ((2, 6, 5, 1), 4, 3, 1, "same"),
]


@pytest.mark.parametrize("shape,ksize,strides,dilation,padding", NAIVE_CASES)
def test_forward_matches_naive_loop(float64, rng, shape, ksize, strides, dilation, padding):
    layer, k, b = make_layer(rng, shape[-1], ksize, strides=strides, padding=padding,
                             dilation_rate=dilation)
    x = rng.standard_normal(shape)
    close(layer(beras.Tensor(x)), naive_conv(x, k, b, strides, dilation, padding))


@pytest.mark.parametrize("offset", [(0, 0), (1, 1)])
def test_same_odd_padding_goes_bottom_right(float64, offset):
    layer = beras.Conv2D(1, 2, padding="same", input_channels=1, use_bias=False)
    k = np.zeros((2, 2, 1, 1))
    k[offset[0], offset[1], 0, 0] = 1.0
    layer.kernel.assign(k)
    out = beras.to_numpy(layer(beras.Tensor(np.ones((1, 4, 4, 1)))))[0, :, :, 0]
    expected = np.ones((4, 4))
    if offset == (1, 1):  # reads x_pad[p+1, q+1]: the zero row/column is bottom/right
        expected[3, :] = 0.0
        expected[:, 3] = 0.0
    np.testing.assert_array_equal(out, expected)
    assert layer.output_geometry(4, 4) == (4, 4, (0, 1), (0, 1))


# --- arguments -----------------------------------------------------------------------


@pytest.mark.parametrize("padding", ["SAME", "Valid"])
def test_pair_arguments_and_case_insensitive_padding(float64, rng, padding):
    ksize, strides, dilation = (3, 2), (1, 2), (2, 1)
    layer, k, b = make_layer(rng, 2, ksize, strides=strides, padding=padding,
                             dilation_rate=dilation)
    assert layer.padding == padding.lower()
    x = beras.Tensor(rng.standard_normal((2, 8, 7, 2)))
    out = layer(x)
    y, leaves = torch_conv(x, k, b, strides, dilation, padding, ksize)
    close(out, y.detach().numpy())
    close(out, naive_conv(np.asarray(x), k, b, strides, dilation, padding))
    R = rng.standard_normal(out.shape)
    want = torch_grads(y, leaves, (y * torch.tensor(R)).sum())
    got = layer.compose_input_gradients(R) + layer.compose_weight_gradients(R)
    for g, e in zip(got, want):
        close(g, e)


def test_input_channels_inferred_at_first_call(float64, rng):
    layer = beras.Conv2D(FILTERS, (3, 2), padding="same")
    assert layer.weights == [] and layer.kernel is None and layer.bias is None
    x = beras.Tensor(rng.standard_normal((2, 5, 6, 3)))
    out = layer(x)
    assert out.shape == (2, 5, 6, FILTERS)
    assert layer.kernel.shape == (3, 2, 3, FILTERS) and layer.bias.shape == (FILTERS,)
    assert layer.weights[0] is layer.kernel and layer.weights[1] is layer.bias
    np.testing.assert_array_equal(beras.to_numpy(layer.bias), np.zeros(FILTERS))
    y, _ = torch_conv(x, np.asarray(layer.kernel), np.asarray(layer.bias), 1, 1, "same", (3, 2))
    close(out, y.detach().numpy())


def test_without_bias(float64, rng):
    layer, k, _ = make_layer(rng, 3, 3, use_bias=False, strides=2, padding="same")
    assert layer.weights == [layer.kernel] and layer.bias is None
    x = beras.Tensor(rng.standard_normal((2, 7, 6, 3)))
    y, leaves = torch_conv(x, k, None, 2, 1, "same", 3)
    target = rng.standard_normal(tuple(y.shape))
    with beras.GradientTape() as tape:
        out = layer(x)
        loss = beras.MeanSquaredError()(out, beras.Tensor(target))
    close(out, y.detach().numpy())
    grads = tape.gradient(loss, layer.trainable_variables)
    assert len(grads) == 1
    R = rng.standard_normal(out.shape)
    assert len(layer.compose_weight_gradients(R)) == 1
    want = torch_grads(y, leaves, ((y - torch.tensor(target)) ** 2).mean())
    close(grads[0], want[1])


def test_float32_stays_float32(rng):
    layer = beras.Conv2D(FILTERS, 3, padding="same", input_channels=3)
    assert layer.kernel.dtype == np.float32 and layer.bias.dtype == np.float32
    x = beras.Tensor(rng.standard_normal((2, 6, 5, 3)).astype(np.float32))
    out = layer(x)
    assert out.dtype == np.float32
    R = rng.standard_normal(out.shape).astype(np.float32)
    grads = layer.compose_input_gradients(R) + layer.compose_weight_gradients(R)
    assert [g.dtype for g in grads] == [np.float32] * 3


@pytest.mark.parametrize("ksize,stride,dilation,padding", [
    (3, 1, 1, "same"), (2, 2, 1, "same"), (3, 2, 2, "valid"), (4, (1, 3), (2, 1), "same"),
])
def test_backends_match_torch_float32(xp, rng, ksize, stride, dilation, padding):
    in_ch = 3
    layer = beras.Conv2D(FILTERS, ksize, strides=stride, padding=padding,
                         dilation_rate=dilation, input_channels=in_ch)
    k = rng.standard_normal(tuple(layer.kernel.shape)).astype(np.float32)
    b = rng.standard_normal(FILTERS).astype(np.float32)
    layer.kernel.assign(k)
    layer.bias.assign(b)
    x_host = rng.standard_normal((2, 9, 10, in_ch)).astype(np.float32)
    out = layer(beras.Tensor(x_host))
    assert isinstance(out, xp.ndarray) and out.dtype == np.float32
    y, leaves = torch_conv(x_host.astype(np.float64), k.astype(np.float64),
                           b.astype(np.float64), stride, dilation, padding, ksize)
    close(out, y.detach().numpy(), rtol=1e-4, atol=1e-4)
    R = rng.standard_normal(out.shape).astype(np.float32)
    want = torch_grads(y, leaves, (y * torch.tensor(R.astype(np.float64))).sum())
    J = beras.to_device(R)
    got = layer.compose_input_gradients(J) + layer.compose_weight_gradients(J)
    for g, e in zip(got, want):
        close(g, e, rtol=1e-4, atol=1e-3)
