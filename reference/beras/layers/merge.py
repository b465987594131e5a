"""Add: the sum of two same-shaped tensors, for residual connections (``y = f(x) + x``)."""

from __future__ import annotations

from typing import Any

from beras import backend
from beras.core import Diffable


class Add(Diffable):
    """``y = a + b``; both gradients are ``J`` itself."""

    def forward(self, a: Any, b: Any) -> Any:
        """Return ``a + b`` (same shapes only: no broadcasting)."""
        if tuple(a.shape) != tuple(b.shape):
            raise ValueError(
                f"Add expects two inputs of the same shape. Received: {tuple(a.shape)} and {tuple(b.shape)}"
            )
        return backend.asarray(a) + backend.asarray(b)

    def get_input_gradients(self) -> list:
        """``dy/da`` and ``dy/db`` are ones (in the input's float dtype: a float64 one would make every
        gradient behind a residual connection float64)."""
        xp = backend.xp()
        return [xp.ones(x.shape, dtype=_float(x)) for x in self.inputs]


def _float(x: Any) -> Any:
    dtype = getattr(x, "dtype", None)
    return dtype if dtype is not None and dtype.kind == "f" else backend.floatx()
