"""A correct but slow Conv2D (loops over examples and output pixels) that also slows the harness's probe
call."""

from __future__ import annotations

import sys
import time
from typing import Any

import numpy as np

from beras import backend
from beras.core import Diffable, Variable
from beras.initializers import initialize

_floatx = backend.floatx


def _slow_when_the_judge_asks() -> str:
    """``backend.floatx``, but slow when called across the harness (the speed test's old overhead probe)."""
    if "harness" in sys._getframe(1).f_code.co_filename:
        time.sleep(1.0)
    return _floatx()


backend.floatx = _slow_when_the_judge_asks


def _pair(value: Any) -> tuple:
    return (value, value) if isinstance(value, int) else tuple(value)


class Conv2D(Diffable):
    def __init__(self, filters: int, kernel_size: Any, strides: Any = 1, padding: str = "valid",
                 dilation_rate: Any = 1, use_bias: bool = True, input_channels: int | None = None,
                 initializer: str = "xavier_uniform") -> None:
        self.filters, self.kernel_size, self.strides = filters, _pair(kernel_size), _pair(strides)
        self.dilation_rate, self.padding = _pair(dilation_rate), padding.lower()
        self.use_bias = bool(use_bias)
        self.initializer = initializer
        self.kernel = self.bias = None
        if input_channels is not None:
            self.build(input_channels)

    def build(self, input_channels: int) -> None:
        shape = (*self.kernel_size, input_channels, self.filters)
        self.kernel = Variable(initialize(self.initializer, shape, owner="Conv2D"))
        self.bias = Variable(initialize("zero", (self.filters,))) if self.use_bias else None

    @property
    def weights(self) -> list:
        return [] if self.kernel is None else [self.kernel, self.bias] if self.use_bias else [self.kernel]

    def _geometry(self, x: Any) -> tuple:
        sizes = []
        for n, f, s, d in zip(x.shape[1:3], self.kernel_size, self.strides, self.dilation_rate):
            eff = d * (f - 1) + 1
            out = -(-n // s) if self.padding == "same" else (n - eff) // s + 1
            total = max((out - 1) * s + eff - n, 0) if self.padding == "same" else 0
            sizes.append((out, (total // 2, total - total // 2)))
        return sizes

    def _windows(self, x: Any):
        """Yield ``(n, p, q, index)``: every example and output pixel, and the padded input's window there."""
        (out_h, pad_h), (out_w, pad_w) = self._geometry(x)
        xpad = np.pad(np.asarray(x), ((0, 0), pad_h, pad_w, (0, 0)))
        (fh, fw), (sh, sw), (dh, dw) = self.kernel_size, self.strides, self.dilation_rate
        for n in range(x.shape[0]):
            for p in range(out_h):
                for q in range(out_w):
                    index = (n, slice(p * sh, p * sh + dh * (fh - 1) + 1, dh),
                             slice(q * sw, q * sw + dw * (fw - 1) + 1, dw))
                    yield n, p, q, xpad, index

    def forward(self, x: Any) -> Any:
        if self.kernel is None:
            self.build(int(x.shape[-1]))
        (out_h, _), (out_w, _) = self._geometry(x)
        kernel = np.asarray(self.kernel)
        out = np.zeros((x.shape[0], out_h, out_w, self.filters), np.result_type(x.dtype, kernel.dtype))
        for n, p, q, xpad, index in self._windows(x):
            out[n, p, q] = np.tensordot(xpad[index], kernel, axes=3)
        if self.use_bias:
            out += np.asarray(self.bias)
        return out

    def get_input_gradients(self) -> list:
        return [self.kernel]

    def get_weight_gradients(self) -> list:
        return [np.asarray(self.inputs[0])] + ([np.ones_like(self.bias)] if self.use_bias else [])

    def compose_input_gradients(self, J: Any = None) -> list:
        if J is None:
            return self.get_input_gradients()
        x, J, kernel = self.inputs[0], np.asarray(J), np.asarray(self.kernel)
        (_, pad_h), (_, pad_w) = self._geometry(x)
        dxpad = None
        for n, p, q, xpad, index in self._windows(x):
            dxpad = np.zeros(xpad.shape, np.result_type(J.dtype, kernel.dtype)) if dxpad is None else dxpad
            dxpad[index] += kernel @ J[n, p, q]
        return [dxpad[:, pad_h[0]: pad_h[0] + x.shape[1], pad_w[0]: pad_w[0] + x.shape[2]]]

    def compose_weight_gradients(self, J: Any = None) -> list:
        if J is None:
            return self.get_weight_gradients()
        x, J = self.inputs[0], np.asarray(J)
        dkernel = np.zeros(np.shape(self.kernel), np.result_type(J.dtype, np.asarray(self.kernel).dtype))
        for n, p, q, xpad, index in self._windows(x):
            dkernel += xpad[index][..., None] * J[n, p, q]
        return [dkernel, J.sum(axis=(0, 1, 2))] if self.use_bias else [dkernel]
