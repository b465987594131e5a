"""MaxPool2D: the largest value of each window, over NHWC images.

Geometry is Conv2D's with ``pool_size`` as the kernel (no dilation); SAME pads with
``-inf`` so padding never wins. The gradient of a max is 1 for the input that was the
maximum and 0 for the others: ``dL/dx`` routes each ``J[n, p, q, c]`` to the first input
of its window (in row-major order) that equals the maximum, as PyTorch does on ties.
"""

from __future__ import annotations

from typing import Any

from beras import backend
from beras.core import Diffable
from beras.layers import _checks
from beras.layers.geometry import axis_geometry, strided_window


class MaxPool2D(Diffable):
    """Max pooling over ``pool_size`` windows.

    Args:
        pool_size: window height and width, an int or a pair.
        strides: an int or a pair; defaults to ``pool_size``.
        padding: ``"valid"`` or ``"same"`` (case-insensitive).
    """

    def __init__(self, pool_size: Any = 2, strides: Any = None, padding: str = "valid") -> None:
        self.pool_size = _checks.positive_pair("MaxPool2D", "pool_size", pool_size)
        self.strides = _checks.positive_pair(
            "MaxPool2D", "strides", self.pool_size if strides is None else strides
        )
        self.padding = _checks.padding_mode("MaxPool2D", padding)

    def output_geometry(self, in_h: int, in_w: int) -> tuple:
        """Return ``(out_h, out_w, (pad_top, pad_bottom), (pad_left, pad_right))``."""
        (out_h, pad_h), (out_w, pad_w) = (
            axis_geometry(n, f, s, self.padding)
            for n, f, s in zip((in_h, in_w), self.pool_size, self.strides)
        )
        return out_h, out_w, pad_h, pad_w

    def forward(self, x: Any) -> Any:
        """Return the window maxima, shape ``(batch, out_h, out_w, channels)``."""
        shape = _checks.rank("MaxPool2D", x, 4, "(batch, height, width, channels)")
        if self.padding == "valid" and (shape[1] < self.pool_size[0] or shape[2] < self.pool_size[1]):
            raise ValueError(
                f"MaxPool2D with padding='valid' needs an input at least as large as the pool "
                f"{self.pool_size[0]}x{self.pool_size[1]}. Received: input of shape {shape}"
            )
        # BEGIN SOLUTION
        xp = backend.xp()
        xpad, (out_h, out_w) = self._padded(backend.asarray(x))
        out = None
        for i in range(self.pool_size[0]):
            for j in range(self.pool_size[1]):
                window = self._window(xpad, i, j, out_h, out_w)
                out = window.copy() if out is None else xp.maximum(out, window, out=out)
        return out
        # END SOLUTION

    def get_input_gradients(self) -> list:
        """How many outputs each input is the maximum of (1 or 0 for non-overlapping pools)."""
        # BEGIN SOLUTION
        return self.compose_input_gradients(backend.xp().ones_like(self.outputs[0]))
        # END SOLUTION

    def compose_input_gradients(self, J: Any = None) -> list:
        """Route each upstream gradient to its window's (first) maximum."""
        if J is None:
            return self.get_input_gradients()
        # BEGIN SOLUTION
        xp = backend.xp()
        x = backend.asarray(self.inputs[0])
        out = backend.asarray(self.outputs[0])
        J = backend.asarray(J)
        xpad, (out_h, out_w) = self._padded(x)
        dxpad = xp.zeros(xpad.shape, J.dtype)
        taken = xp.zeros(out.shape, dtype=bool)
        for i in range(self.pool_size[0]):
            for j in range(self.pool_size[1]):
                hit = (self._window(xpad, i, j, out_h, out_w) == out) & ~taken
                window = self._window(dxpad, i, j, out_h, out_w)
                xp.add(window, J * hit, out=window)
                taken |= hit
        (top, _), (left, _) = self.output_geometry(x.shape[1], x.shape[2])[2:]
        return [xp.ascontiguousarray(dxpad[:, top : top + x.shape[1], left : left + x.shape[2], :])]
        # END SOLUTION

    # BEGIN SOLUTION
    def _padded(self, x: Any) -> tuple:
        out_h, out_w, pad_h, pad_w = self.output_geometry(x.shape[1], x.shape[2])
        if any(pad_h) or any(pad_w):
            xp = backend.xp()
            if x.dtype.kind != "f":
                x = x.astype(backend.floatx())
            x = xp.pad(x, ((0, 0), pad_h, pad_w, (0, 0)), constant_values=-xp.inf)
        return x, (out_h, out_w)

    def _window(self, padded: Any, i: int, j: int, out_h: int, out_w: int) -> Any:
        return strided_window(padded, i, j, out_h, out_w, self.strides)
    # END SOLUTION
