"""VALID/SAME output size and padding along one axis, as ``tf.nn.conv2d`` computes them.

With the effective window ``f_eff = d * (f - 1) + 1`` (``d`` the dilation, 1 for pooling):

* VALID: ``out = floor((n - f_eff) / s) + 1``, no padding;
* SAME:  ``out = ceil(n / s)``, total padding ``P = max((out - 1) * s + f_eff - n, 0)``,
  ``floor(P / 2)`` before and the rest after.
"""

from __future__ import annotations


def axis_geometry(n: int, f_eff: int, stride: int, padding: str) -> tuple[int, tuple[int, int]]:
    """Return ``(out, (pad_before, pad_after))`` for one spatial axis of length ``n``."""
    # BEGIN SOLUTION
    if padding == "valid":
        return (n - f_eff) // stride + 1, (0, 0)
    out = -(-n // stride)
    total = max((out - 1) * stride + f_eff - n, 0)
    return out, (total // 2, total - total // 2)
    # END SOLUTION
