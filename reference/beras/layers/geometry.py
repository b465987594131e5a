"""Window geometry: VALID/SAME output size and padding per axis (as ``tf.nn.conv2d``), strided views.

With the effective window ``f_eff = d * (f - 1) + 1`` (``d`` the dilation, 1 for pooling):

* VALID: ``out = floor((n - f_eff) / s) + 1``, no padding;
* SAME:  ``out = ceil(n / s)``, total padding ``P = max((out - 1) * s + f_eff - n, 0)``,
  ``floor(P / 2)`` before and the rest after.
"""

from __future__ import annotations

from typing import Any


def axis_geometry(n: int, f_eff: int, stride: int, padding: str) -> tuple[int, tuple[int, int]]:
    """Return ``(out, (pad_before, pad_after))`` for one spatial axis of length ``n``."""
    # BEGIN SOLUTION
    if padding == "valid":
        return (n - f_eff) // stride + 1, (0, 0)
    out = -(-n // stride)
    total = max((out - 1) * stride + f_eff - n, 0)
    return out, (total // 2, total - total // 2)
    # END SOLUTION


def strided_window(
    padded: Any, top: int, left: int, out_h: int, out_w: int, strides: tuple, axis: int = 1
) -> Any:
    """The input pixels a window offset ``(top, left)`` sees, one per output pixel (a view).

    ``axis`` is the position of the height axis (1 for NHWC); width follows it.
    """
    # BEGIN SOLUTION
    sh, sw = strides
    rows = slice(top, top + sh * (out_h - 1) + 1, sh)
    cols = slice(left, left + sw * (out_w - 1) + 1, sw)
    return padded[(slice(None),) * axis + (rows, cols)]
    # END SOLUTION
